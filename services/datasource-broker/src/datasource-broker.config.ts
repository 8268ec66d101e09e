import type { z } from 'zod';
import { BaseServiceEnvSchema, DataRootEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const DatasourceBrokerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape)
  .extend(DataRootEnvSchema.shape)
  .extend({
    PORT: env.port(8085),
    /** Seals data-source credentials at rest (the same key as auth's). */
    CLOUDFLOW_SECRET_KEY: env.secretKey(),
    /** Data sources may reach 127.0.0.0/8 and ::1 (a laptop, tests). Off by default. */
    DATASOURCE_ALLOW_LOOPBACK: env.boolean(false),
    /** Data sources may reach private networks (RFC 1918, CGNAT, fc00::/7). Off by default. */
    DATASOURCE_ALLOW_PRIVATE: env.boolean(false),
    /** A connection test, every stage included, ends within this. */
    DATASOURCE_TEST_TIMEOUT_MS: env.positiveInt(10_000),
  });
export type DatasourceBrokerConfig = z.infer<typeof DatasourceBrokerConfigSchema>;
