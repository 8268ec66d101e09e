import type { z } from 'zod';
import {
  BaseServiceEnvSchema,
  DataRootEnvSchema,
  DataSourceNetworkEnvSchema,
  MongoEnvSchema,
  env,
} from '@cloudflow/config';

export const JobSchedulerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape)
  .extend(DataRootEnvSchema.shape)
  .extend(DataSourceNetworkEnvSchema.shape)
  .extend({
    PORT: env.port(8083),
    /** Calls to the pipeline registry. */
    RPC_TIMEOUT_MS: env.positiveInt(5_000),
    /** Size of a task's byte range: small enough that many workers share a large file. */
    TASK_TARGET_BYTES: env.positiveInt(4 * 1024 * 1024),
    /** Rows per task of a table input (split on the table's key). */
    TASK_TARGET_ROWS: env.positiveInt(50_000),
    /** A claim not renewed for this long belongs to a dead or hung worker. */
    TASK_LEASE_TIMEOUT_MS: env.positiveInt(10_000),
    /** Attempts per task (first run included) before the job fails. */
    TASK_MAX_ATTEMPTS: env.positiveInt(4),
    /** First retry delay after a transient failure; doubles per attempt, capped at 30 s. */
    TASK_RETRY_BASE_MS: env.positiveInt(1_000),
    /** How often the scheduler re-examines unfinished jobs (leases, retries, timeouts). */
    JOB_SWEEP_INTERVAL_MS: env.positiveInt(2_000),
    /** Timeout of a job that does not set `timeoutSeconds`. */
    JOB_DEFAULT_TIMEOUT_SECONDS: env.positiveInt(3_600),
  });
export type JobSchedulerConfig = z.infer<typeof JobSchedulerConfigSchema>;
