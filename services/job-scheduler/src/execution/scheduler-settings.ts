import type { JobSchedulerConfig } from '../job-scheduler.config';
import type { ExecutionPolicy } from './job-analysis';

/** The scheduler's config, injected where it is needed. */
export const SCHEDULER_CONFIG = Symbol('SCHEDULER_CONFIG');

export function executionPolicy(config: JobSchedulerConfig): ExecutionPolicy {
  return {
    leaseTimeoutMs: config.TASK_LEASE_TIMEOUT_MS,
    maxAttempts: config.TASK_MAX_ATTEMPTS,
    retryBaseMs: config.TASK_RETRY_BASE_MS,
    resendAfterMs: 120_000,
  };
}
