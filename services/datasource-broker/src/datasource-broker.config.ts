import type { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const DatasourceBrokerConfigSchema = BaseServiceEnvSchema.extend(
  MongoEnvSchema.shape,
).extend({
  PORT: env.port(8085),
  /** Seals data-source credentials at rest (the same key as auth's). */
  CLOUDFLOW_SECRET_KEY: env.secretKey(),
});
export type DatasourceBrokerConfig = z.infer<typeof DatasourceBrokerConfigSchema>;
