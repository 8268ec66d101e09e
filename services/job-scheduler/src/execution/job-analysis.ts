import {
  emptyTaskCounts,
  isAssembledOutput,
  type JobProgress,
  type TaskCounts,
} from '@cloudflow/contracts';
import {
  attemptId,
  type ClaimDocument,
  type FailureDocument,
  type JobDocument,
  type JobError,
  type JobLedgerSnapshot,
  type TaskDocument,
} from '@cloudflow/job-store';
import type { RetryCause } from '@cloudflow/runtime';

export interface ExecutionPolicy {
  leaseTimeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** A dispatched attempt nobody claimed for this long is published again. */
  resendAfterMs: number;
}

/** What the scheduler should do next for a job; computed from the ledger, applied by the reconciler. */
export type JobDecision =
  | { kind: 'finish'; status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; error: JobError | null }
  | {
      kind: 'continue';
      /**
       * Attempts to dispatch now: retries of failed tasks and of expired leases
       * (`cause` says which), and first attempts never dispatched.
       */
      dispatch: { task: TaskDocument; attempt: number; cause?: RetryCause }[];
      /** Unclaimed attempts to publish again. */
      resend: { task: TaskDocument; attempt: number }[];
      /** All ranges are committed and the output file must be assembled. */
      finalize: boolean;
      startedAt: Date | null;
    };

interface TaskState {
  task: TaskDocument;
  latest: number;
  dispatchedAt: Date | null;
  claim?: ClaimDocument;
  failure?: FailureDocument;
  committed: boolean;
}

export function retryDelayMs(policy: ExecutionPolicy, failedAttempt: number): number {
  return Math.min(30_000, policy.retryBaseMs * 2 ** (failedAttempt - 1));
}

/**
 * Decides a job's next step from its ledger. Pure, so every rule (leases,
 * retries with backoff and a bound, timeouts, cancellation, completion) is
 * unit-tested without a database.
 */
export function decide(
  job: JobDocument,
  ledger: JobLedgerSnapshot,
  now: Date,
  policy: ExecutionPolicy,
): JobDecision {
  const states = taskStates(ledger);
  const live = states.filter((s) => isLive(s, now, policy));
  const startedAt = firstClaimAt(ledger.claims);

  if (job.cancelRequested) {
    return live.length === 0
      ? { kind: 'finish', status: 'CANCELLED', error: null }
      : { kind: 'continue', dispatch: [], resend: [], finalize: false, startedAt };
  }
  if (now.getTime() > new Date(job.deadlineAt).getTime()) {
    return fail(`the job did not finish within its timeout of ${job.timeoutSeconds} s`);
  }
  const permanent = ledger.failures.find((f) => f.permanent);
  if (permanent) return fail(permanent.message, describeTask(states, permanent.taskId));

  const ranges = states.filter((s) => s.task.kind === 'range');
  const rangesDone =
    job.tasksTotal !== null && ranges.filter((s) => s.committed).length === job.tasksTotal;
  if (rangesDone) {
    const rejected = sumCounts(ledger.commits.filter((c) => c.kind === 'range')).rowsRejected;
    const max = job.errorPolicy.maxRejected;
    if (max !== undefined && rejected > max) {
      return fail(`${rejected} rows were rejected, more than errorPolicy.maxRejected (${max})`);
    }
    const finalize = states.find((s) => s.task.kind === 'finalize');
    if (!isAssembledOutput(job.output) || finalize?.committed) {
      return { kind: 'finish', status: 'SUCCEEDED', error: null };
    }
  }

  const dispatch: { task: TaskDocument; attempt: number; cause?: RetryCause }[] = [];
  const resend: { task: TaskDocument; attempt: number }[] = [];
  for (const state of states) {
    if (state.committed) continue;
    const { task, latest, claim, failure } = state;
    if (latest === 0) {
      // Recorded but never dispatched: the dispatcher stopped in between.
      dispatch.push({ task, attempt: 1 });
    } else if (failure) {
      if (latest >= policy.maxAttempts) {
        return fail(
          `${describeTask(states, task._id)} failed ${latest} times; last error: ${failure.message}`,
        );
      }
      const due = new Date(failure.failedAt).getTime() + retryDelayMs(policy, latest);
      if (now.getTime() >= due) dispatch.push({ task, attempt: latest + 1, cause: 'failure' });
    } else if (claim) {
      if (!isLive(state, now, policy)) {
        if (latest >= policy.maxAttempts) {
          return fail(
            `${describeTask(states, task._id)} lost its worker ${latest} times (no heartbeat for ${policy.leaseTimeoutMs} ms)`,
          );
        }
        dispatch.push({ task, attempt: latest + 1, cause: 'lease-expired' });
      }
    } else if (
      state.dispatchedAt &&
      now.getTime() - new Date(state.dispatchedAt).getTime() > policy.resendAfterMs
    ) {
      resend.push({ task, attempt: latest });
    }
  }
  return {
    kind: 'continue',
    dispatch,
    resend,
    finalize: rangesDone && !states.some((s) => s.task.kind === 'finalize'),
    startedAt,
  };
}

/** Progress as the status endpoint shows it: committed tasks plus live claims' heartbeats. */
export function progressOf(job: JobDocument, ledger: JobLedgerSnapshot): JobProgress {
  const committedRanges = ledger.commits.filter((c) => c.kind === 'range');
  const committedIds = new Set(committedRanges.map((c) => c.taskId));
  const latest = latestAttempts(ledger);
  const inFlight = ledger.claims.filter(
    (c) =>
      !committedIds.has(c.taskId) &&
      latest.get(c.taskId) === c.attempt &&
      !ledger.failures.some((f) => f._id === c._id),
  );
  const done = sumCounts(committedRanges);
  const running = inFlight.reduce(addCounts, emptyTaskCounts());
  return {
    tasksTotal: job.tasksTotal,
    tasksDone: committedRanges.length,
    rowsRead: done.rowsRead + running.rowsRead,
    rowsWritten: done.rowsWritten + running.rowsWritten,
    rowsRejected: done.rowsRejected + running.rowsRejected,
    bytesRead: done.bytesRead + running.bytesRead,
    bytesTotal: Math.max(0, job.input.bytesTotal - job.input.dataStart),
  };
}

export function attemptsOf(ledger: JobLedgerSnapshot): { total: number; retries: number } {
  return {
    total: ledger.claims.length,
    retries: ledger.attempts.filter((a) => a.attempt > 1).length,
  };
}

function taskStates(ledger: JobLedgerSnapshot): TaskState[] {
  const latest = latestAttempts(ledger);
  const dispatched = new Map(ledger.attempts.map((a) => [a._id, a.dispatchedAt]));
  const claims = new Map(ledger.claims.map((c) => [c._id, c]));
  const failures = new Map(ledger.failures.map((f) => [f._id, f]));
  const committed = new Set(ledger.commits.map((c) => c.taskId));
  return ledger.tasks.map((task) => {
    const attempt = latest.get(task._id) ?? 0;
    const key = attemptId(task._id, attempt);
    return {
      task,
      latest: attempt,
      dispatchedAt: dispatched.get(key) ?? null,
      claim: claims.get(key),
      failure: failures.get(key),
      committed: committed.has(task._id),
    };
  });
}

function latestAttempts(ledger: JobLedgerSnapshot): Map<string, number> {
  const latest = new Map<string, number>();
  for (const a of ledger.attempts) {
    if ((latest.get(a.taskId) ?? 0) < a.attempt) latest.set(a.taskId, a.attempt);
  }
  return latest;
}

function isLive(state: TaskState, now: Date, policy: ExecutionPolicy): boolean {
  if (state.committed || state.failure || !state.claim) return false;
  return now.getTime() - new Date(state.claim.renewedAt).getTime() <= policy.leaseTimeoutMs;
}

/** When the first worker picked up one of the job's tasks. */
export function firstClaimAt(claims: ClaimDocument[]): Date | null {
  let first: Date | null = null;
  for (const c of claims) {
    const at = new Date(c.claimedAt);
    if (!first || at < first) first = at;
  }
  return first;
}

function describeTask(states: TaskState[], id: string): string {
  const task = states.find((s) => s.task._id === id)?.task;
  if (!task) return `task ${id}`;
  if (task.kind === 'finalize') return 'assembling the output file';
  return task.keys
    ? `task ${task.seq + 1} (rows ${task.keys.firstLine}-${task.keys.firstLine + task.keys.rows - 1})`
    : `task ${task.seq + 1} (input bytes ${task.range?.start}-${task.range?.end})`;
}

function fail(message: string, details?: string): JobDecision {
  return {
    kind: 'finish',
    status: 'FAILED',
    error: details ? { message, details } : { message },
  };
}

function addCounts(sum: TaskCounts, c: { progress?: TaskCounts; counts?: TaskCounts }): TaskCounts {
  const x = c.counts ?? c.progress ?? emptyTaskCounts();
  sum.rowsRead += x.rowsRead;
  sum.rowsWritten += x.rowsWritten;
  sum.rowsRejected += x.rowsRejected;
  sum.bytesRead += x.bytesRead;
  return sum;
}

function sumCounts(commits: { counts: TaskCounts }[]): TaskCounts {
  return commits.reduce(addCounts, emptyTaskCounts());
}
