import './tracing';
import { runService } from '@cloudflow/runtime';
import { PipelineRegistryConfigSchema } from './pipeline-registry.config';
import { PipelinesModule } from './pipelines/pipelines.module';

void runService({
  name: 'pipeline-registry',
  configSchema: PipelineRegistryConfigSchema,
  mongo: true,
  rpcServer: true,
  features: () => [PipelinesModule],
});
