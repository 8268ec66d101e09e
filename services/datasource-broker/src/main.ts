import './tracing';
import { runService } from '@cloudflow/runtime';
import { DatasourceBrokerConfigSchema } from './datasource-broker.config';

// Health, config, Kafka and MongoDB only so far; its features arrive with later issues.
void runService({
  name: 'datasource-broker',
  configSchema: DatasourceBrokerConfigSchema,
  mongo: true,
  rpcServer: false,
});
