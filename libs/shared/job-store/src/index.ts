export * from './job.schema';
export * from './task.schema';
export * from './jobs.repository';
export * from './task-ledger.repository';
export * from './row-store';
export * from './job-log.repository';
export * from './job-log';
export * from './job-store.module';
