import { MongoClient } from 'mongodb';
import type { Job } from '@cloudflow/contracts';
import type { ServiceProcess } from '@cloudflow/testing';
import { Stack } from './support/stack';
import { submitJob, waitForJob } from './support/jobs';
import {
  bigCsv,
  bigCsvPipeline,
  expectBigCsvExactlyOnce,
  freezeWorkerMidTask,
  openClaimsOf,
  type Claim,
} from './support/workers';

const ROWS = 40_000;
const SINK = 'drain';

/**
 * SIGTERM to a busy worker (a rolling update, a scale-down): it takes no new
 * task, and its running task either finishes within the drain budget or is
 * handed back and re-dispatched at once. Either way the job's output is exact.
 */
describe('Workers draining on SIGTERM (distributed stack)', () => {
  let stack: Stack;
  let mongo: MongoClient;
  let pipelineId: string;

  const expectExactOutput = (jobId: string) =>
    expectBigCsvExactlyOnce(mongo.db(), SINK, jobId, ROWS);

  /** Stops `worker` with SIGTERM while it is caught in the middle of one of the job's tasks. */
  const sigtermMidTask = async (jobId: string, worker: ServiceProcess) => {
    // Frozen first, so the claim read below is still open when the signal is handled.
    await freezeWorkerMidTask(mongo.db(), jobId, [worker]);
    const [claim] = await openClaimsOf(mongo.db(), jobId, worker);
    expect(claim).toBeDefined();
    const signalledAt = new Date();
    const stopped = worker.stop('SIGTERM', 90_000);
    worker.signal('SIGCONT');
    const exitCode = await stopped;
    return { claim: claim!, signalledAt, exitCode };
  };

  beforeAll(async () => {
    // Many small batches into MongoDB: a task lasts long enough to be caught running.
    stack = await Stack.start({
      TASK_TARGET_BYTES: String(256 * 1024),
      TASK_BATCH_ROWS: '25',
      TASK_LEASE_TIMEOUT_MS: '5000',
      JOB_SWEEP_INTERVAL_MS: '1000',
      TASK_HEARTBEAT_MS: '1000',
      TASK_RETRY_BASE_MS: '200',
    });
    stack.writeData('drain/input.csv', bigCsv(ROWS));
    mongo = await MongoClient.connect(stack.mongoUrl);
    pipelineId = await bigCsvPipeline(stack.api(), 'drain', '/drain/input.csv', SINK);
  });

  afterAll(async () => {
    await mongo?.close();
    await stack?.stop();
  });

  it('a worker with a drain budget finishes its running task, takes no other, and exits 0', async () => {
    const patient = await stack.addReplica('worker', {
      TASK_DRAIN_TIMEOUT_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '70000',
    });
    const job = await submitJob(stack.api(), { pipelineId });
    const { claim, signalledAt, exitCode } = await sigtermMidTask(job.jobId, patient);
    expect(exitCode).toBe(0);

    // The attempt it was running when signalled is the one that committed the task.
    const commit = await mongo
      .db()
      .collection('task_commits')
      .findOne({ taskId: claim.taskId, outcome: 'committed' });
    expect(commit).toMatchObject({ attempt: claim.attempt, workerId: claim.workerId });
    const later = await mongo
      .db()
      .collection<Claim>('task_claims')
      .countDocuments({ workerId: claim.workerId, claimedAt: { $gt: signalledAt } });
    expect(later).toBe(0);
    expect(patient.logLines().some((l) => /handing it back/.test(String(l['msg'])))).toBe(false);

    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 120_000 });
    expect(done.status).toBe('SUCCEEDED');
    expect(done.progress).toMatchObject({ rowsRead: ROWS, rowsWritten: ROWS, rowsRejected: 0 });
    await expectExactOutput(done.jobId);
  });

  it('a worker without a drain budget hands its task back, which another worker completes', async () => {
    // Slower still, so the task is nowhere near done when the signal lands.
    const hasty = await stack.addReplica('worker', {
      TASK_DRAIN_TIMEOUT_MS: '0',
      TASK_BATCH_ROWS: '5',
    });
    const job = await submitJob(stack.api(), { pipelineId });
    const started = Date.now();
    const { claim, exitCode } = await sigtermMidTask(job.jobId, hasty);
    expect(exitCode).toBe(0);
    // Handed back, not waited for: well within the lease timeout.
    expect(Date.now() - started).toBeLessThan(60_000);

    // Recorded as a transient failure of that attempt, so it is retried at once...
    const failure = await mongo
      .db()
      .collection('task_failures')
      .findOne({ _id: claim._id as never });
    expect(failure).toMatchObject({ permanent: false, message: 'the worker is shutting down' });
    expect(
      hasty.logLines().some((l) => /did not finish within the drain budget/.test(String(l['msg']))),
    ).toBe(true);

    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 120_000 });
    expect(done.status).toBe('SUCCEEDED');
    expect(done.attempts.retries).toBeGreaterThanOrEqual(1);
    // ...and a later attempt by another worker committed it.
    const commit = await mongo
      .db()
      .collection('task_commits')
      .findOne({ taskId: claim.taskId, outcome: 'committed' });
    expect(commit?.['attempt']).toBeGreaterThan(claim.attempt);
    expect(commit?.['workerId']).not.toBe(claim.workerId);
    expect(done.progress).toMatchObject({ rowsRead: ROWS, rowsWritten: ROWS, rowsRejected: 0 });
    await expectExactOutput(done.jobId);
    const status = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
    expect(status.body.status).toBe('SUCCEEDED');
  });
});
