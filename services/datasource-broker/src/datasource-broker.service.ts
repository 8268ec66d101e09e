import { defineService } from '@cloudflow/runtime';
import { DataSourcesModule } from './datasources/datasources.module';
import { DatasourceBrokerConfigSchema } from './datasource-broker.config';

/** The datasource-broker service: run as its own process by main.ts, or composed in standalone mode. */
export const datasourceBrokerService = defineService({
  name: 'datasource-broker',
  configSchema: DatasourceBrokerConfigSchema,
  mongo: true,
  rpcServer: true,
  features: (config) => [
    DataSourcesModule.forRoot({
      secretKey: config.CLOUDFLOW_SECRET_KEY,
      previousSecretKeys: config.CLOUDFLOW_SECRET_KEY_PREVIOUS,
      allowLoopback: config.DATASOURCE_ALLOW_LOOPBACK,
      allowPrivate: config.DATASOURCE_ALLOW_PRIVATE,
      testTimeoutMs: config.DATASOURCE_TEST_TIMEOUT_MS,
      dataRoot: config.CLOUDFLOW_DATA_DIR,
    }),
  ],
});
