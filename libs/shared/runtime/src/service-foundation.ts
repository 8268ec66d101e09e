import type { Abstract, DynamicModule, Provider, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MessagingModule, TransportReadiness, type InProcessBus } from '@cloudflow/messaging';
import { MongoReadiness, PersistenceModule } from '@cloudflow/persistence';
import { EnvelopeExceptionFilter } from './envelope-exception.filter';
import { HealthModule, type ReadinessCheck } from './health';
import { loggingModule } from './logging.module';

export interface FoundationOptions {
  service: string;
  logLevel: string;
  /** Kafka's brokers, or the in-process bus of standalone mode. */
  transport: { kafkaBrokers: string[] } | { bus: InProcessBus };
  taskPartitions?: number;
  /** Services with state in MongoDB. */
  mongoUrl?: string;
  /** Services that call other services. */
  rpcClient?: { timeoutMs: number };
}

/**
 * What every service module stands on: JSON logs, the transport (Kafka, or
 * the in-process bus), MongoDB where the service keeps state, health
 * endpoints checking exactly those, and the error filter.
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
            brokers: transport.kafkaBrokers,
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
  return { imports, providers: [{ provide: APP_FILTER, useClass: EnvelopeExceptionFilter }] };
}
