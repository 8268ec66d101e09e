export * from './connection-string';
