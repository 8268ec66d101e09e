import { Module, type DynamicModule } from '@nestjs/common';
import { serviceFoundation } from '@cloudflow/runtime';
import type { WorkerConfig } from './worker.config';

@Module({})
export class AppModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    const foundation = serviceFoundation({
      service: 'worker',
      logLevel: config.LOG_LEVEL,
      kafkaBrokers: config.KAFKA_BROKERS,
      mongoUrl: config.MONGO_URL,
    });
    return { module: AppModule, imports: foundation.imports, providers: foundation.providers };
  }
}
