export * from './tenant.repository';
export * from './persistence.module';
export * from './ids';
export * from './mongo-health';
export * from './mongo-errors';
export * from './secret-box';
export * from './sealed-key-pairs';
