import type { z } from 'zod';
import {
  BaseServiceEnvSchema,
  DataRootEnvSchema,
  DataSourceNetworkEnvSchema,
  MongoEnvSchema,
  env,
} from '@cloudflow/config';

export const WorkerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape)
  .extend(DataRootEnvSchema.shape)
  .extend(DataSourceNetworkEnvSchema.shape)
  .extend({
    PORT: env.port(8084),
    /**
     * The worker's shutdown budget (SIGTERM): the running task's drain, then
     * handing it back and leaving the group. Keep it under the pod's
     * terminationGracePeriodSeconds.
     */
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(30_000),
    /**
     * On SIGTERM the running task may finish for this long; after that it is
     * handed back (recorded as a transient failure and retried elsewhere).
     * Capped at SHUTDOWN_TIMEOUT_MS minus DRAIN_RESERVE_MS.
     */
    TASK_DRAIN_TIMEOUT_MS: env.nonNegativeInt(20_000),
    /** Calls to the datasource-broker. */
    RPC_TIMEOUT_MS: env.positiveInt(5_000),
    /** How often a running task renews its lease and checks for cancellation. */
    TASK_HEARTBEAT_MS: env.positiveInt(2_000),
    /** A task that makes no progress for this long is treated as hung: abandoned and retried. */
    TASK_STALL_TIMEOUT_MS: env.positiveInt(20_000),
    /** Rows per batch through the engine (memory per worker scales with it). */
    TASK_BATCH_ROWS: env.positiveInt(2_000),
    /** A longer input record is rejected rather than buffered; keep well under the heap. */
    TASK_MAX_RECORD_BYTES: env.positiveInt(16 * 1024 * 1024),
  });
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;
