import './tracing';
import { mkdirSync } from 'node:fs';
import { runService } from '@cloudflow/runtime';
import { JobSchedulerConfigSchema } from './job-scheduler.config';
import { JobsModule } from './jobs/jobs.module';

void runService({
  name: 'job-scheduler',
  configSchema: JobSchedulerConfigSchema,
  mongo: true,
  rpcServer: true,
  rpcTimeoutMs: (config) => config.RPC_TIMEOUT_MS,
  features: (config) => {
    mkdirSync(config.CLOUDFLOW_DATA_DIR, { recursive: true });
    return [JobsModule.forRoot(config)];
  },
});
