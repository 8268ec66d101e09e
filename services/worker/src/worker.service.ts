import { defineService } from '@cloudflow/runtime';
import { TasksModule } from './tasks/tasks.module';
import { WorkerConfigSchema } from './worker.config';

/** The worker service: run as its own process by main.ts, or composed in standalone mode. */
export const workerService = defineService({
  name: 'worker',
  configSchema: WorkerConfigSchema,
  mongo: true,
  rpcServer: false,
  // Workers ask the datasource-broker for the connections their tasks use.
  rpcTimeoutMs: (config) => config.RPC_TIMEOUT_MS,
  features: (config) => [TasksModule.forRoot(config)],
});
