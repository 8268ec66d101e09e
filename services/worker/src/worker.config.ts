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
