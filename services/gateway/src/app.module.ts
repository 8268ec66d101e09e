import { Module, type DynamicModule } from '@nestjs/common';
import { serviceFoundation } from '@cloudflow/runtime';
import { AuthModule } from './auth/auth.module';
import type { GatewayConfig } from './gateway.config';
import { PipelinesModule } from './pipelines/pipelines.module';

@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    // The gateway is stateless: Kafka only, no MongoDB.
    const foundation = serviceFoundation({
      service: 'gateway',
      logLevel: config.LOG_LEVEL,
      kafkaBrokers: config.KAFKA_BROKERS,
      rpcClient: { timeoutMs: config.RPC_TIMEOUT_MS },
    });
    return {
      module: AppModule,
      imports: [
        ...foundation.imports,
        AuthModule.forRoot({ cacheTtlMs: config.AUTH_CACHE_TTL_MS }),
        PipelinesModule,
      ],
      providers: foundation.providers,
    };
  }
}
