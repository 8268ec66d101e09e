import type { z } from 'zod';
import {
  BaseServiceEnvSchema,
  DataRootEnvSchema,
  DataSourceNetworkEnvSchema,
  MongoEnvSchema,
  SecretKeyEnvSchema,
  env,
} from '@cloudflow/config';

/**
 * CLOUDFLOW_SECRET_KEY (and _PREVIOUS while rotating), the same keys as
 * auth's, seal data-source credentials and the transit key at rest.
 */
export const DatasourceBrokerConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape)
  .extend(SecretKeyEnvSchema.shape)
  .extend(DataRootEnvSchema.shape)
  .extend(DataSourceNetworkEnvSchema.shape)
  .extend({
    PORT: env.port(8085),
    /** A connection test, every stage included, ends within this. */
    DATASOURCE_TEST_TIMEOUT_MS: env.positiveInt(10_000),
  });
export type DatasourceBrokerConfig = z.infer<typeof DatasourceBrokerConfigSchema>;
