import type { JobOutput, TaskCounts } from '@cloudflow/contracts';
import {
  attemptId,
  taskId,
  type JobDocument,
  type JobLedgerSnapshot,
  type TaskDocument,
} from '@cloudflow/job-store';
import { attemptsOf, decide, progressOf, retryDelayMs, type ExecutionPolicy } from './job-analysis';

const JOB_ID = 'job-1';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
/** A moment `ms` after T0. */
const at = (ms: number): Date => new Date(T0 + ms);

const policy: ExecutionPolicy = {
  leaseTimeoutMs: 30_000,
  maxAttempts: 3,
  retryBaseMs: 1_000,
  resendAfterMs: 60_000,
};

const RESULT_STORE: JobOutput = { kind: 'result-store' };
const FILE_OUTPUT: JobOutput = { kind: 'file', path: '/out/result.csv', format: 'csv' };

function makeJob(over: Partial<JobDocument> = {}): JobDocument {
  return {
    _id: JOB_ID,
    workspaceId: 'ws-1',
    pipelineId: 'pl-1',
    pipelineVersion: 1,
    steps: [],
    errorPolicy: { mode: 'skip' },
    input: {
      path: '/in/data.csv',
      format: 'csv',
      csv: { delimiter: ',', quote: '"', header: true },
      columns: ['id', 'name'],
      dataStart: 8,
      firstDataLine: 2,
      bytesTotal: 308,
      mtimeMs: 0,
    },
    output: RESULT_STORE,
    status: 'RUNNING',
    tasksTotal: 2,
    planRenewedAt: null,
    cancelRequested: false,
    timeoutSeconds: 3600,
    deadlineAt: at(3_600_000),
    error: null,
    final: null,
    createdAt: at(0),
    startedAt: null,
    finishedAt: null,
    ...over,
  };
}

function counts(rowsRead: number, rowsWritten: number, rowsRejected: number, bytesRead: number) {
  return { rowsRead, rowsWritten, rowsRejected, bytesRead };
}

const ZERO: TaskCounts = counts(0, 0, 0, 0);

/** A mutable ledger snapshot with helpers that record facts the way the services do. */
function makeLedger() {
  const snapshot: JobLedgerSnapshot = {
    tasks: [],
    attempts: [],
    claims: [],
    failures: [],
    commits: [],
  };
  const base = (task: TaskDocument) => ({
    workspaceId: task.workspaceId,
    jobId: task.jobId,
    taskId: task._id,
  });
  return {
    snapshot,
    /** Range task `seq` covering input bytes [start, end). */
    range(seq: number, start = 8 + seq * 100, end = 8 + (seq + 1) * 100): TaskDocument {
      const task: TaskDocument = {
        _id: taskId(JOB_ID, seq),
        workspaceId: 'ws-1',
        jobId: JOB_ID,
        seq,
        kind: 'range',
        range: { start, end, firstLine: 2 + seq * 10 },
        createdAt: at(0),
      };
      snapshot.tasks.push(task);
      return task;
    },
    finalizeTask(seq: number): TaskDocument {
      const task: TaskDocument = {
        _id: taskId(JOB_ID, seq),
        workspaceId: 'ws-1',
        jobId: JOB_ID,
        seq,
        kind: 'finalize',
        createdAt: at(0),
      };
      snapshot.tasks.push(task);
      return task;
    },
    dispatch(task: TaskDocument, attempt: number, dispatchedAtMs = 0): void {
      snapshot.attempts.push({
        _id: attemptId(task._id, attempt),
        ...base(task),
        attempt,
        dispatchedAt: at(dispatchedAtMs),
      });
    },
    claim(
      task: TaskDocument,
      attempt: number,
      claimedAtMs: number,
      renewedAtMs = claimedAtMs,
      progress: TaskCounts = ZERO,
    ): void {
      snapshot.claims.push({
        _id: attemptId(task._id, attempt),
        ...base(task),
        attempt,
        workerId: `worker-${attempt}`,
        claimedAt: at(claimedAtMs),
        renewedAt: at(renewedAtMs),
        progress,
      });
    },
    fail(
      task: TaskDocument,
      attempt: number,
      failedAtMs: number,
      message = 'connection reset',
      permanent = false,
    ): void {
      snapshot.failures.push({
        _id: attemptId(task._id, attempt),
        ...base(task),
        attempt,
        permanent,
        message,
        failedAt: at(failedAtMs),
      });
    },
    commit(task: TaskDocument, attempt: number, taskCounts: TaskCounts = ZERO): void {
      snapshot.commits.push({
        _id: attemptId(task._id, attempt),
        ...base(task),
        outcome: 'committed',
        seq: task.seq,
        kind: task.kind,
        attempt,
        workerId: `worker-${attempt}`,
        counts: taskCounts,
        committedAt: at(1_000),
      });
    },
    /** Dispatched, claimed and committed: a finished task. */
    done(task: TaskDocument, taskCounts: TaskCounts = ZERO): void {
      this.dispatch(task, 1, 0);
      this.claim(task, 1, 100, 500);
      this.commit(task, 1, taskCounts);
    },
  };
}

const keepGoing = (
  over: Partial<Extract<ReturnType<typeof decide>, { kind: 'continue' }>> = {},
) => ({
  kind: 'continue',
  dispatch: [],
  resend: [],
  finalize: false,
  startedAt: null,
  ...over,
});

describe('retryDelayMs', () => {
  it('doubles with each failed attempt, starting at the base delay', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000,
    ]);
  });

  it('never waits more than 30 s', () => {
    expect(retryDelayMs(policy, 6)).toBe(30_000); // 32 s uncapped
    expect(retryDelayMs(policy, 20)).toBe(30_000);
    expect(retryDelayMs({ ...policy, retryBaseMs: 20_000 }, 1)).toBe(20_000);
    expect(retryDelayMs({ ...policy, retryBaseMs: 20_000 }, 2)).toBe(30_000);
  });
});

describe('decide', () => {
  describe('completion', () => {
    it('succeeds when every range is committed (result-store output)', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      expect(decide(makeJob(), ledger.snapshot, at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'SUCCEEDED',
        error: null,
      });
    });

    it('succeeds for a collection output without asking for a finalize task', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const job = makeJob({ output: { kind: 'collection', target: 'db://out' } });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'SUCCEEDED',
        error: null,
      });
    });

    it('keeps going while a range is still running', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      const running = ledger.range(1);
      ledger.dispatch(running, 1, 0);
      ledger.claim(running, 1, 200, 9_000);
      expect(decide(makeJob(), ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('never succeeds while planning is still going on (tasksTotal null)', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const job = makeJob({ tasksTotal: null });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
      const fileJob = makeJob({ tasksTotal: null, output: FILE_OUTPUT });
      expect(decide(fileJob, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('does not succeed while fewer ranges are committed than were planned', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const job = makeJob({ tasksTotal: 3 });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('succeeds at once for an input planned into no tasks', () => {
      const job = makeJob({ tasksTotal: 0 });
      expect(decide(job, makeLedger().snapshot, at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'SUCCEEDED',
        error: null,
      });
    });

    it('asks for the finalize task once every range of a file output is committed', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const job = makeJob({ output: FILE_OUTPUT });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ finalize: true, startedAt: at(100) }),
      );
    });

    it('does not ask for the finalize task before every range of a file output is committed', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      const running = ledger.range(1);
      ledger.dispatch(running, 1, 0);
      ledger.claim(running, 1, 200, 9_000);
      const job = makeJob({ output: FILE_OUTPUT });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ finalize: false, startedAt: at(100) }),
      );
    });

    it('waits for a running finalize task without asking for another', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const finalize = ledger.finalizeTask(2);
      ledger.dispatch(finalize, 1, 2_000);
      ledger.claim(finalize, 1, 2_100, 9_000);
      const job = makeJob({ output: FILE_OUTPUT });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ finalize: false, startedAt: at(100) }),
      );
    });

    it('succeeds for a file output only once the finalize task committed', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const finalize = ledger.finalizeTask(2);
      ledger.dispatch(finalize, 1, 2_000);
      ledger.claim(finalize, 1, 2_100, 9_000);
      ledger.commit(finalize, 1, counts(0, 0, 0, 4_096));
      const job = makeJob({ output: FILE_OUTPUT });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'SUCCEEDED',
        error: null,
      });
    });

    it('dispatches a finalize task that was recorded but never got an attempt', () => {
      // The reconciler records the finalize task, then dispatches attempt 1. A
      // scheduler that stops between the two (kill -9, a MongoDB error) leaves
      // a finalize task with no attempt: nothing ever dispatches it, and the
      // job hangs until its timeout fails it although all its data is done.
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const finalize = ledger.finalizeTask(2);
      const job = makeJob({ output: FILE_OUTPUT });
      const decision = decide(job, ledger.snapshot, at(10_000), policy);
      expect(decision.kind).toBe('continue');
      if (decision.kind !== 'continue') return;
      const dispatchesIt = decision.dispatch.some(
        (d) => d.task._id === finalize._id && d.attempt === 1,
      );
      expect(decision.finalize || dispatchesIt).toBe(true);
    });
  });

  describe('rejected rows (errorPolicy.maxRejected)', () => {
    function ledgerRejecting(a: number, b: number) {
      const ledger = makeLedger();
      ledger.done(ledger.range(0), counts(10, 10 - a, a, 100));
      ledger.done(ledger.range(1), counts(10, 10 - b, b, 100));
      return ledger.snapshot;
    }

    it('fails the job when the committed ranges rejected more rows than allowed', () => {
      const job = makeJob({ errorPolicy: { mode: 'skip', maxRejected: 3 } });
      expect(decide(job, ledgerRejecting(2, 2), at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: { message: '4 rows were rejected, more than errorPolicy.maxRejected (3)' },
      });
    });

    it('succeeds when exactly maxRejected rows were rejected', () => {
      const job = makeJob({ errorPolicy: { mode: 'skip', maxRejected: 4 } });
      expect(decide(job, ledgerRejecting(2, 2), at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'SUCCEEDED',
        error: null,
      });
    });

    it('allows any number of rejected rows without maxRejected', () => {
      const job = makeJob({ errorPolicy: { mode: 'skip' } });
      expect(decide(job, ledgerRejecting(10, 10), at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'SUCCEEDED',
        error: null,
      });
    });

    it('fails a file output over the limit before asking for the finalize task', () => {
      const job = makeJob({ output: FILE_OUTPUT, errorPolicy: { mode: 'skip', maxRejected: 0 } });
      expect(decide(job, ledgerRejecting(0, 1), at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: { message: '1 rows were rejected, more than errorPolicy.maxRejected (0)' },
      });
    });
  });

  describe('cancellation', () => {
    it('waits while a worker still holds a live lease', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 5_000);
      const job = makeJob({ cancelRequested: true, tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(5_000 + policy.leaseTimeoutMs), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('cancels once the last lease has lapsed', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 5_000);
      const job = makeJob({ cancelRequested: true, tasksTotal: 1 });
      expect(
        decide(job, ledger.snapshot, at(5_000 + policy.leaseTimeoutMs + 1), policy),
      ).toStrictEqual({ kind: 'finish', status: 'CANCELLED', error: null });
    });

    it('cancels when no task was claimed yet', () => {
      const ledger = makeLedger();
      ledger.dispatch(ledger.range(0), 1, 0);
      ledger.dispatch(ledger.range(1), 1, 0);
      const job = makeJob({ cancelRequested: true });
      expect(decide(job, ledger.snapshot, at(1_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'CANCELLED',
        error: null,
      });
    });

    it('does not count committed, failed or superseded claims as live', () => {
      const ledger = makeLedger();
      // Committed: its claim is fresh but the task is done.
      const committed = ledger.range(0);
      ledger.dispatch(committed, 1, 0);
      ledger.claim(committed, 1, 100, 9_900);
      ledger.commit(committed, 1);
      // Failed: the worker recorded a failure for the attempt it holds.
      const failed = ledger.range(1);
      ledger.dispatch(failed, 1, 0);
      ledger.claim(failed, 1, 100, 9_900);
      ledger.fail(failed, 1, 9_950);
      // Superseded: attempt 1 renews, but attempt 2 (unclaimed) replaced it.
      const superseded = ledger.range(2);
      ledger.dispatch(superseded, 1, 0);
      ledger.claim(superseded, 1, 100, 9_900);
      ledger.dispatch(superseded, 2, 9_000);
      const job = makeJob({ cancelRequested: true, tasksTotal: 3 });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'CANCELLED',
        error: null,
      });
    });

    it('dispatches nothing, not even retries, while cancelling', () => {
      const ledger = makeLedger();
      const live = ledger.range(0);
      ledger.dispatch(live, 1, 0);
      ledger.claim(live, 1, 100, 9_000);
      const failed = ledger.range(1);
      ledger.dispatch(failed, 1, 0);
      ledger.claim(failed, 1, 100, 200);
      ledger.fail(failed, 1, 300);
      const job = makeJob({ cancelRequested: true });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('reports CANCELLED rather than a timeout for a cancelled job past its deadline', () => {
      const job = makeJob({ cancelRequested: true, deadlineAt: at(1_000) });
      expect(decide(job, makeLedger().snapshot, at(2_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'CANCELLED',
        error: null,
      });
    });
  });

  describe('timeout', () => {
    it('fails a job past its deadline with the timeout message, even with live workers', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 599_000);
      const job = makeJob({ timeoutSeconds: 600, deadlineAt: at(600_000) });
      expect(decide(job, ledger.snapshot, at(600_001), policy)).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: { message: 'the job did not finish within its timeout of 600 s' },
      });
    });

    it('does not fail a job at its deadline exactly', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 599_000);
      const job = makeJob({ timeoutSeconds: 600, deadlineAt: at(600_000) });
      expect(decide(job, ledger.snapshot, at(600_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });
  });

  describe('permanent failures', () => {
    it('fails the job with the failure message, naming the task in the details', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      const bad = ledger.range(1, 108, 208);
      ledger.dispatch(bad, 1, 0);
      ledger.claim(bad, 1, 100, 900);
      ledger.fail(
        bad,
        1,
        1_000,
        "line 17: expected 2 fields, found 3 (the pipeline's errorPolicy is 'fail')",
        true,
      );
      expect(decide(makeJob(), ledger.snapshot, at(1_001), policy)).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: {
          message: "line 17: expected 2 fields, found 3 (the pipeline's errorPolicy is 'fail')",
          details: 'task 2 (input bytes 108-208)',
        },
      });
    });

    it('names the file assembly when the finalize task failed permanently', () => {
      const ledger = makeLedger();
      ledger.done(ledger.range(0));
      ledger.done(ledger.range(1));
      const finalize = ledger.finalizeTask(2);
      ledger.dispatch(finalize, 1, 2_000);
      ledger.claim(finalize, 1, 2_100);
      ledger.fail(finalize, 1, 2_500, "'/out/result.csv' leads outside the data root", true);
      const job = makeJob({ output: FILE_OUTPUT });
      expect(decide(job, ledger.snapshot, at(3_000), policy)).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: {
          message: "'/out/result.csv' leads outside the data root",
          details: 'assembling the output file',
        },
      });
    });
  });

  describe('transient failures', () => {
    function failedOnce(failedAtMs: number) {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 400);
      ledger.fail(task, 1, failedAtMs);
      return { ledger, task };
    }

    it('does not retry before failedAt + retryDelayMs', () => {
      const { ledger } = failedOnce(5_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(5_999), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('dispatches attempt 2 once failedAt + retryDelayMs has passed', () => {
      const { ledger, task } = failedOnce(5_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(6_000), policy)).toStrictEqual(
        keepGoing({ dispatch: [{ task, attempt: 2, cause: 'failure' }], startedAt: at(100) }),
      );
    });

    it('waits twice as long after the second failure', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100);
      ledger.fail(task, 1, 200);
      ledger.dispatch(task, 2, 1_200);
      ledger.claim(task, 2, 1_300);
      ledger.fail(task, 2, 10_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(11_999), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
      expect(decide(job, ledger.snapshot, at(12_000), policy)).toStrictEqual(
        keepGoing({ dispatch: [{ task, attempt: 3, cause: 'failure' }], startedAt: at(100) }),
      );
    });

    it('waits at most 30 s between attempts', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      for (let n = 1; n <= 7; n++) {
        ledger.dispatch(task, n, n * 100_000);
        ledger.claim(task, n, n * 100_000 + 10);
        ledger.fail(task, n, n * 100_000 + 20);
      }
      const many = { ...policy, maxAttempts: 10 };
      const job = makeJob({ tasksTotal: 1 });
      const failedAt = 700_020;
      expect(decide(job, ledger.snapshot, at(failedAt + 29_999), many)).toStrictEqual(
        keepGoing({ startedAt: at(100_010) }),
      );
      expect(decide(job, ledger.snapshot, at(failedAt + 30_000), many)).toStrictEqual(
        keepGoing({ dispatch: [{ task, attempt: 8, cause: 'failure' }], startedAt: at(100_010) }),
      );
    });

    it('fails the job once the last allowed attempt failed, naming the task', () => {
      const ledger = makeLedger();
      const task = ledger.range(0, 8, 108);
      for (let n = 1; n <= 3; n++) {
        ledger.dispatch(task, n, n * 10_000);
        ledger.claim(task, n, n * 10_000 + 10);
        ledger.fail(task, n, n * 10_000 + 20, n === 3 ? 'ECONNRESET' : 'earlier error');
      }
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(30_021), policy)).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: { message: 'task 1 (input bytes 8-108) failed 3 times; last error: ECONNRESET' },
      });
    });

    it('ignores the failure of a superseded attempt while the latest one runs', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100);
      ledger.fail(task, 1, 200);
      ledger.dispatch(task, 2, 1_200);
      ledger.claim(task, 2, 1_300, 9_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(10_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });
  });

  describe('lost workers (expired leases)', () => {
    it('dispatches attempt N+1 at once when the lease expired', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 2_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(
        decide(job, ledger.snapshot, at(2_000 + policy.leaseTimeoutMs + 1), policy),
      ).toStrictEqual(
        keepGoing({ dispatch: [{ task, attempt: 2, cause: 'lease-expired' }], startedAt: at(100) }),
      );
    });

    it('keeps a lease renewed exactly leaseTimeoutMs ago', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 2_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(2_000 + policy.leaseTimeoutMs), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });

    it('fails the job when the last allowed attempt lost its worker, naming the task', () => {
      const ledger = makeLedger();
      const task = ledger.range(1, 108, 208);
      for (let n = 1; n <= 3; n++) {
        ledger.dispatch(task, n, n * 100_000);
        ledger.claim(task, n, n * 100_000 + 10, n * 100_000 + 20);
      }
      const job = makeJob({ tasksTotal: 1 });
      expect(
        decide(job, ledger.snapshot, at(300_020 + policy.leaseTimeoutMs + 1), policy),
      ).toStrictEqual({
        kind: 'finish',
        status: 'FAILED',
        error: {
          message:
            'task 2 (input bytes 108-208) lost its worker 3 times (no heartbeat for 30000 ms)',
        },
      });
    });
  });

  describe('unclaimed attempts', () => {
    it('resends an attempt nobody claimed for longer than resendAfterMs', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 1_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(
        decide(job, ledger.snapshot, at(1_000 + policy.resendAfterMs + 1), policy),
      ).toStrictEqual(keepGoing({ resend: [{ task, attempt: 1 }] }));
    });

    it('does not resend before resendAfterMs has passed', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 1_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(1_000 + policy.resendAfterMs), policy)).toStrictEqual(
        keepGoing(),
      );
    });

    it('resends the latest attempt of a retried task', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100);
      ledger.fail(task, 1, 200);
      ledger.dispatch(task, 2, 2_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(
        decide(job, ledger.snapshot, at(2_000 + policy.resendAfterMs + 1), policy),
      ).toStrictEqual(keepGoing({ resend: [{ task, attempt: 2 }], startedAt: at(100) }));
    });

    it('does not resend a claimed attempt however old its dispatch', () => {
      const ledger = makeLedger();
      const task = ledger.range(0);
      ledger.dispatch(task, 1, 0);
      ledger.claim(task, 1, 100, 500_000);
      const job = makeJob({ tasksTotal: 1 });
      expect(decide(job, ledger.snapshot, at(500_001), policy)).toStrictEqual(
        keepGoing({ startedAt: at(100) }),
      );
    });
  });

  describe('committed tasks', () => {
    it('are never retried, re-dispatched or resent', () => {
      const ledger = makeLedger();
      // Committed, then its claim stopped renewing (the worker went on or died).
      const stale = ledger.range(0);
      ledger.dispatch(stale, 1, 0);
      ledger.claim(stale, 1, 100, 200);
      ledger.commit(stale, 1);
      // A failure recorded after the commit (a late error report).
      const failedAfter = ledger.range(1);
      ledger.dispatch(failedAfter, 1, 0);
      ledger.claim(failedAfter, 1, 100, 200);
      ledger.commit(failedAfter, 1);
      ledger.fail(failedAfter, 1, 300);
      const running = ledger.range(2);
      ledger.dispatch(running, 1, 0);
      ledger.claim(running, 1, 50, 500_000);
      const job = makeJob({ tasksTotal: 3 });
      expect(decide(job, ledger.snapshot, at(500_000), policy)).toStrictEqual(
        keepGoing({ startedAt: at(50) }),
      );
    });
  });

  it('handles several tasks in one decision, in task order', () => {
    const ledger = makeLedger();
    const lost = ledger.range(0);
    ledger.dispatch(lost, 1, 0);
    ledger.claim(lost, 1, 100, 100);
    const failed = ledger.range(1);
    ledger.dispatch(failed, 1, 0);
    ledger.claim(failed, 1, 100, 100);
    ledger.fail(failed, 1, 1_000);
    const unclaimed = ledger.range(2);
    ledger.dispatch(unclaimed, 1, 0);
    const job = makeJob({ tasksTotal: 3 });
    expect(decide(job, ledger.snapshot, at(100_000), policy)).toStrictEqual(
      keepGoing({
        dispatch: [
          { task: lost, attempt: 2, cause: 'lease-expired' },
          { task: failed, attempt: 2, cause: 'failure' },
        ],
        resend: [{ task: unclaimed, attempt: 1 }],
        startedAt: at(100),
      }),
    );
  });

  it('reports startedAt as the earliest claim, whatever the order of claims', () => {
    const ledger = makeLedger();
    const a = ledger.range(0);
    const b = ledger.range(1);
    ledger.dispatch(a, 1, 0);
    ledger.dispatch(b, 1, 0);
    ledger.claim(a, 1, 700, 9_000);
    ledger.claim(b, 1, 300, 9_000);
    const decision = decide(makeJob(), ledger.snapshot, at(10_000), policy);
    expect(decision).toStrictEqual(keepGoing({ startedAt: at(300) }));
  });

  it('reports startedAt null while nothing was claimed', () => {
    const ledger = makeLedger();
    ledger.dispatch(ledger.range(0), 1, 0);
    const decision = decide(makeJob({ tasksTotal: 1 }), ledger.snapshot, at(1_000), policy);
    expect(decision).toStrictEqual(keepGoing({ startedAt: null }));
  });
});

describe('progressOf', () => {
  it('sums committed ranges and the live claims of running tasks', () => {
    const ledger = makeLedger();
    ledger.done(ledger.range(0), counts(10, 8, 2, 100));
    ledger.done(ledger.range(1), counts(20, 20, 0, 200));
    const running = ledger.range(2);
    ledger.dispatch(running, 1, 0);
    ledger.claim(running, 1, 100, 900, counts(5, 4, 1, 50));
    const job = makeJob({ tasksTotal: 4 });
    expect(progressOf(job, ledger.snapshot)).toStrictEqual({
      tasksTotal: 4,
      tasksDone: 2,
      rowsRead: 35,
      rowsWritten: 32,
      rowsRejected: 3,
      bytesRead: 350,
      bytesTotal: 300,
    });
  });

  it("ignores superseded and failed claims and committed tasks' claims", () => {
    const ledger = makeLedger();
    // Committed: its claim's last heartbeat must not be added to its commit.
    const committed = ledger.range(0);
    ledger.dispatch(committed, 1, 0);
    ledger.claim(committed, 1, 100, 900, counts(9, 9, 0, 90));
    ledger.commit(committed, 1, counts(10, 10, 0, 100));
    // Superseded: attempt 1 lost its worker; attempt 2 runs.
    const retried = ledger.range(1);
    ledger.dispatch(retried, 1, 0);
    ledger.claim(retried, 1, 100, 200, counts(1_000, 1_000, 0, 1_000));
    ledger.dispatch(retried, 2, 50_000);
    ledger.claim(retried, 2, 50_100, 51_000, counts(3, 3, 0, 30));
    // Failed: its progress is lost with it.
    const failed = ledger.range(2);
    ledger.dispatch(failed, 1, 0);
    ledger.claim(failed, 1, 100, 200, counts(500, 500, 0, 500));
    ledger.fail(failed, 1, 300);
    const job = makeJob({ tasksTotal: 3 });
    expect(progressOf(job, ledger.snapshot)).toStrictEqual({
      tasksTotal: 3,
      tasksDone: 1,
      rowsRead: 13,
      rowsWritten: 13,
      rowsRejected: 0,
      bytesRead: 130,
      bytesTotal: 300,
    });
  });

  it('does not count the finalize task as a task done or its bytes as input read', () => {
    const ledger = makeLedger();
    ledger.done(ledger.range(0), counts(10, 10, 0, 150));
    ledger.done(ledger.range(1), counts(10, 10, 0, 150));
    ledger.done(ledger.finalizeTask(2), counts(0, 0, 0, 4_096));
    const job = makeJob({ output: FILE_OUTPUT });
    expect(progressOf(job, ledger.snapshot)).toStrictEqual({
      tasksTotal: 2,
      tasksDone: 2,
      rowsRead: 20,
      rowsWritten: 20,
      rowsRejected: 0,
      bytesRead: 300,
      bytesTotal: 300,
    });
  });

  it('reports tasksTotal null and nothing done while planning has just started', () => {
    const job = makeJob({ tasksTotal: null });
    expect(progressOf(job, makeLedger().snapshot)).toStrictEqual({
      tasksTotal: null,
      tasksDone: 0,
      rowsRead: 0,
      rowsWritten: 0,
      rowsRejected: 0,
      bytesRead: 0,
      bytesTotal: 300,
    });
  });

  it('excludes the header (and BOM) from bytesTotal', () => {
    const base = makeJob();
    const job = makeJob({ input: { ...base.input, bytesTotal: 1_000, dataStart: 23 } });
    expect(progressOf(job, makeLedger().snapshot).bytesTotal).toBe(977);
  });
});

describe('attemptsOf', () => {
  it('counts started attempts (claims) and retries (attempts after the first)', () => {
    const ledger = makeLedger();
    ledger.done(ledger.range(0));
    const retried = ledger.range(1);
    ledger.dispatch(retried, 1, 0);
    ledger.claim(retried, 1, 100);
    ledger.fail(retried, 1, 200);
    ledger.dispatch(retried, 2, 1_200);
    ledger.claim(retried, 2, 1_300);
    ledger.fail(retried, 2, 1_400);
    ledger.dispatch(retried, 3, 3_400); // not claimed yet
    ledger.dispatch(ledger.range(2), 1, 0); // not claimed yet
    expect(attemptsOf(ledger.snapshot)).toStrictEqual({ total: 3, retries: 2 });
  });

  it('reports nothing for an empty ledger', () => {
    expect(attemptsOf(makeLedger().snapshot)).toStrictEqual({ total: 0, retries: 0 });
  });
});
