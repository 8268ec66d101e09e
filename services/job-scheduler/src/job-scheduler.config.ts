import type { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const JobSchedulerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape).extend({
  PORT: env.port(8083),
});
export type JobSchedulerConfig = z.infer<typeof JobSchedulerConfigSchema>;
