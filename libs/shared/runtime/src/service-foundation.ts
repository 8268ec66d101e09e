import type { DynamicModule, Provider, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { KafkaReadiness, MessagingModule } from '@cloudflow/messaging';
import { MongoReadiness, PersistenceModule } from '@cloudflow/persistence';
import { EnvelopeExceptionFilter } from './envelope-exception.filter';
import { HealthModule, type ReadinessCheck } from './health';
import { loggingModule } from './logging.module';

export interface FoundationOptions {
  service: string;
  logLevel: string;
  kafkaBrokers: string[];
  taskPartitions?: number;
  /** Services with state in MongoDB. */
  mongoUrl?: string;
  /** Services that call other services. */
  rpcClient?: { timeoutMs: number };
}

/**
 * What every service module stands on: JSON logs, Kafka, MongoDB where the
 * service keeps state, health endpoints checking exactly those, and the
 * error filter.
 */
export function serviceFoundation(options: FoundationOptions): {
  imports: DynamicModule[];
  providers: Provider[];
} {
  const checks: Type<ReadinessCheck>[] = [KafkaReadiness];
  const imports: DynamicModule[] = [
    loggingModule(options.service, options.logLevel),
    MessagingModule.forRoot({
      settings: {
        brokers: options.kafkaBrokers,
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
