import type { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const WorkerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape).extend({
  PORT: env.port(8084),
});
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;
