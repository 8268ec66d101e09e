import type { z } from 'zod';
import {
  BaseServiceEnvSchema,
  DataRootEnvSchema,
  DataSourceNetworkEnvSchema,
  MongoEnvSchema,
  env,
} from '@cloudflow/config';

export const DatasourceBrokerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape)
  .extend(DataRootEnvSchema.shape)
  .extend(DataSourceNetworkEnvSchema.shape)
  .extend({
    PORT: env.port(8085),
    /** Seals data-source credentials at rest (the same key as auth's). */
    CLOUDFLOW_SECRET_KEY: env.secretKey(),
    /** A connection test, every stage included, ends within this. */
    DATASOURCE_TEST_TIMEOUT_MS: env.positiveInt(10_000),
  });
export type DatasourceBrokerConfig = z.infer<typeof DatasourceBrokerConfigSchema>;
