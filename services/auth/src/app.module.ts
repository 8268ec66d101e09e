import { Module, type DynamicModule } from '@nestjs/common';
import { serviceFoundation } from '@cloudflow/runtime';
import { ApiKeysModule } from './api-keys/api-keys.module';
import type { AuthConfig } from './auth.config';

@Module({})
export class AppModule {
  static forRoot(config: AuthConfig): DynamicModule {
    const foundation = serviceFoundation({
      service: 'auth',
      logLevel: config.LOG_LEVEL,
      kafkaBrokers: config.KAFKA_BROKERS,
      mongoUrl: config.MONGO_URL,
    });
    return {
      module: AppModule,
      imports: [
        ...foundation.imports,
        ApiKeysModule.forRoot({ bootstrapKey: config.CLOUDFLOW_BOOTSTRAP_API_KEY }),
      ],
      providers: foundation.providers,
    };
  }
}
