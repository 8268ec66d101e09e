import './tracing';
import { runService } from '@cloudflow/runtime';
import { AppModule } from './app.module';
import { DatasourceBrokerConfigSchema } from './datasource-broker.config';

void runService({
  name: 'datasource-broker',
  configSchema: DatasourceBrokerConfigSchema,
  rootModule: (config) => AppModule.forRoot(config),
  rpcServer: false,
});
