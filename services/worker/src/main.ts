import './tracing';
import { runService } from '@cloudflow/runtime';
import { WorkerConfigSchema } from './worker.config';

// Health, config, Kafka and MongoDB only so far; its features arrive with later issues.
void runService({
  name: 'worker',
  configSchema: WorkerConfigSchema,
  mongo: true,
  rpcServer: false,
});
