import { mkdirSync } from 'node:fs';
import { defineService } from '@cloudflow/runtime';
import { JobSchedulerConfigSchema } from './job-scheduler.config';
import { JobsModule } from './jobs/jobs.module';

/** The job-scheduler service: run as its own process by main.ts, or composed in standalone mode. */
export const jobSchedulerService = defineService({
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
