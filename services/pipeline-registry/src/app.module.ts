import { Module, type DynamicModule } from '@nestjs/common';
import { serviceFoundation } from '@cloudflow/runtime';
import type { PipelineRegistryConfig } from './pipeline-registry.config';
import { PipelinesModule } from './pipelines/pipelines.module';

@Module({})
export class AppModule {
  static forRoot(config: PipelineRegistryConfig): DynamicModule {
    const foundation = serviceFoundation({
      service: 'pipeline-registry',
      logLevel: config.LOG_LEVEL,
      kafkaBrokers: config.KAFKA_BROKERS,
      mongoUrl: config.MONGO_URL,
    });
    return {
      module: AppModule,
      imports: [...foundation.imports, PipelinesModule],
      providers: foundation.providers,
    };
  }
}
