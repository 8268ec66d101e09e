import './tracing';
import { runService } from '@cloudflow/runtime';
import { JobSchedulerConfigSchema } from './job-scheduler.config';

// Health, config, Kafka and MongoDB only so far; its features arrive with later issues.
void runService({
  name: 'job-scheduler',
  configSchema: JobSchedulerConfigSchema,
  mongo: true,
  rpcServer: false,
});
