export * from './request-id';
export * from './logging.module';
export * from './health';
export * from './envelope-exception.filter';
export * from './run-service';
export * from './service-foundation';
export * from './metrics';
export * from './metrics.module';
