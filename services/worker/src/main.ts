import './tracing';
import { runService } from '@cloudflow/runtime';
import { AppModule } from './app.module';
import { WorkerConfigSchema } from './worker.config';

void runService({
  name: 'worker',
  configSchema: WorkerConfigSchema,
  rootModule: (config) => AppModule.forRoot(config),
  rpcServer: false,
});
