import type { WorkerConfig } from '../worker.config';

/** The worker's config, injected where it is needed. */
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
export type { WorkerConfig };
