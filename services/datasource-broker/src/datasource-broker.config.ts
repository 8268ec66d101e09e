import type { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const DatasourceBrokerConfigSchema = BaseServiceEnvSchema.extend(
  MongoEnvSchema.shape,
).extend({
  PORT: env.port(8085),
});
export type DatasourceBrokerConfig = z.infer<typeof DatasourceBrokerConfigSchema>;
