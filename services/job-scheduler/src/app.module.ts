import { Module, type DynamicModule } from '@nestjs/common';
import { serviceFoundation } from '@cloudflow/runtime';
import type { JobSchedulerConfig } from './job-scheduler.config';

@Module({})
export class AppModule {
  static forRoot(config: JobSchedulerConfig): DynamicModule {
    const foundation = serviceFoundation({
      service: 'job-scheduler',
      logLevel: config.LOG_LEVEL,
      kafkaBrokers: config.KAFKA_BROKERS,
      mongoUrl: config.MONGO_URL,
    });
    return { module: AppModule, imports: foundation.imports, providers: foundation.providers };
  }
}
