export * from './connection-string';
export * from './network-policy';
export * from './connection-test';
export * from './metadata';
export * from './s3';
