import './tracing';
import { runService } from '@cloudflow/runtime';
import { AppModule } from './app.module';
import { PipelineRegistryConfigSchema } from './pipeline-registry.config';

void runService({
  name: 'pipeline-registry',
  configSchema: PipelineRegistryConfigSchema,
  rootModule: (config) => AppModule.forRoot(config),
  rpcServer: true,
});
