import { Module, type DynamicModule } from '@nestjs/common';
import { serviceFoundation } from '@cloudflow/runtime';
import type { DatasourceBrokerConfig } from './datasource-broker.config';

@Module({})
export class AppModule {
  static forRoot(config: DatasourceBrokerConfig): DynamicModule {
    const foundation = serviceFoundation({
      service: 'datasource-broker',
      logLevel: config.LOG_LEVEL,
      kafkaBrokers: config.KAFKA_BROKERS,
      mongoUrl: config.MONGO_URL,
    });
    return { module: AppModule, imports: foundation.imports, providers: foundation.providers };
  }
}
