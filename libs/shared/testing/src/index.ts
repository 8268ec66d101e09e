export * from './infra';
export * from './service-process';
export * from './api-client';
export * from './factories';
export * from './eventually';
