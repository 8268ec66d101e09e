import type { Abstract, DynamicModule, Provider, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import {
  MessagingModule,
  TransportReadiness,
  type InProcessBus,
  type KafkaConnection,
} from '@cloudflow/messaging';
import { MongoReadiness, PersistenceModule } from '@cloudflow/persistence';
import { EnvelopeExceptionFilter } from './envelope-exception.filter';
import { HealthModule, type ReadinessCheck } from './health';
import { loggingModule } from './logging.module';
import { MetricsModule, type MetricsModuleOptions } from './metrics.module';

/** What a service's messaging runs on. */
export type ServiceTransport = { kafka: KafkaConnection } | { bus: InProcessBus };

export interface FoundationOptions {
  service: string;
  logLevel: string;
  /** Kafka (brokers, TLS, SASL), or the in-process bus of standalone mode. */
  transport: ServiceTransport;
  taskPartitions?: number;
  /** Services with state in MongoDB. */
  mongoUrl?: string;
  /** Services that call other services. */
  rpcClient?: { timeoutMs: number };
  /** Serve `GET /metrics` (METRICS_ENABLED). */
  metrics?: MetricsModuleOptions;
}

/**
 * What every service module stands on: JSON logs, the transport (Kafka, or
 * the in-process bus), MongoDB where the service keeps state, health
 * endpoints checking exactly those, Prometheus metrics, and the error filter.
 */
export function serviceFoundation(options: FoundationOptions): {
  imports: DynamicModule[];
  providers: Provider[];
} {
  const checks: (Type<ReadinessCheck> | Abstract<ReadinessCheck>)[] = [TransportReadiness];
  const transport = options.transport;
  const imports: DynamicModule[] = [
    loggingModule(options.service, options.logLevel),
    'bus' in transport
      ? MessagingModule.inProcess({ bus: transport.bus, rpcClient: options.rpcClient })
      : MessagingModule.forRoot({
          settings: {
            ...transport.kafka,
            service: options.service,
            taskPartitions: options.taskPartitions,
          },
          rpcClient: options.rpcClient,
        }),
  ];
  if (options.mongoUrl) {
    imports.push(PersistenceModule.forRoot({ url: options.mongoUrl }));
    checks.push(MongoReadiness);
  }
  imports.push(HealthModule.forRoot({ checks }));
  if (options.metrics) imports.push(MetricsModule.forRoot(options.metrics));
  return { imports, providers: [{ provide: APP_FILTER, useClass: EnvelopeExceptionFilter }] };
}
