import './tracing';
import { runService } from '@cloudflow/runtime';
import { TasksModule } from './tasks/tasks.module';
import { WorkerConfigSchema } from './worker.config';

void runService({
  name: 'worker',
  configSchema: WorkerConfigSchema,
  mongo: true,
  rpcServer: false,
  // Workers ask the datasource-broker for the connections their tasks use.
  rpcTimeoutMs: (config) => config.RPC_TIMEOUT_MS,
  features: (config) => [TasksModule.forRoot(config)],
});
