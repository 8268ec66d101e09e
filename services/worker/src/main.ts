import './tracing';
import { runService } from '@cloudflow/runtime';
import { TasksModule } from './tasks/tasks.module';
import { WorkerConfigSchema } from './worker.config';

void runService({
  name: 'worker',
  configSchema: WorkerConfigSchema,
  mongo: true,
  rpcServer: false,
  features: (config) => [TasksModule.forRoot(config)],
});
