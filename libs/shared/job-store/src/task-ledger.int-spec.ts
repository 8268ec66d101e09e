import mongoose, { type Connection } from 'mongoose';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { RowStore, rowId, sinkCollectionName } from './row-store';
import { TaskLedger, attemptId, taskId } from './task-ledger.repository';
import {
  AttemptSchema,
  ClaimSchema,
  CommitSchema,
  FailureSchema,
  TASKS_COLLECTION,
  TASK_ATTEMPTS_COLLECTION,
  TASK_CLAIMS_COLLECTION,
  TASK_COMMITS_COLLECTION,
  TASK_FAILURES_COLLECTION,
  TaskSchema,
  type AttemptDocument,
  type ClaimDocument,
  type CommitDocument,
  type FailureDocument,
  type TaskDocument,
} from './task.schema';

const COUNTS = { rowsRead: 10, rowsWritten: 9, rowsRejected: 1, bytesRead: 100 };

/**
 * The ledger's protocol on a real MongoDB-wire server (FerretDB here): every
 * step is a unique insert, so concurrent replicas race and exactly one wins.
 */
describe('Task ledger on a real MongoDB-wire server', () => {
  let connection: Connection;
  let ledger: TaskLedger;
  let rows: RowStore;
  const jobId = `job_${uniqueName('it')}`;
  const task = (seq: number): TaskDocument => ({
    _id: taskId(jobId, seq),
    workspaceId: 'ws_it',
    jobId,
    seq,
    kind: 'range',
    range: { start: seq * 100, end: seq * 100 + 100, firstLine: seq * 10 + 2 },
    createdAt: new Date(),
  });
  const commitOf = (t: TaskDocument, attempt: number, workerId: string) => ({
    workspaceId: t.workspaceId,
    jobId,
    taskId: t._id,
    seq: t.seq,
    kind: t.kind,
    attempt,
    workerId,
    counts: COUNTS,
    committedAt: new Date(),
  });
  const claimOf = (t: TaskDocument, attempt: number, workerId: string) => ({
    _id: attemptId(t._id, attempt),
    workspaceId: t.workspaceId,
    jobId,
    taskId: t._id,
    attempt,
    workerId,
    claimedAt: new Date(),
    renewedAt: new Date(),
    progress: COUNTS,
  });

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_ledger')))
      .asPromise();
    ledger = new TaskLedger(
      connection.model<TaskDocument>(TASKS_COLLECTION, TaskSchema),
      connection.model<AttemptDocument>(TASK_ATTEMPTS_COLLECTION, AttemptSchema),
      connection.model<ClaimDocument>(TASK_CLAIMS_COLLECTION, ClaimSchema),
      connection.model<FailureDocument>(TASK_FAILURES_COLLECTION, FailureSchema),
      connection.model<CommitDocument>(TASK_COMMITS_COLLECTION, CommitSchema),
    );
    await ledger.onModuleInit();
    rows = new RowStore(connection);
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('re-planning records nothing twice', async () => {
    const planned = [task(0), task(1), task(2)];
    await ledger.planTasks(planned);
    await ledger.planTasks(planned);
    expect((await ledger.snapshot(jobId)).tasks.map((t) => t._id).sort()).toEqual(
      planned.map((t) => t._id),
    );
  });

  it('dispatches an attempt once when eight scheduler replicas race to', async () => {
    const t = task(0);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        ledger.dispatch({
          _id: attemptId(t._id, 1),
          workspaceId: t.workspaceId,
          jobId,
          taskId: t._id,
          attempt: 1,
          dispatchedAt: new Date(),
        }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await ledger.latestAttempt(t._id)).toBe(1);
  });

  it('gives a redelivered attempt to exactly one of the workers that try to claim it', async () => {
    const t = task(0);
    const results = await Promise.all(
      ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'].map((w) => ledger.claim(claimOf(t, 1, w))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('fences a stale attempt: a worker that commits after the fence is refused', async () => {
    const t = task(1);
    expect(await ledger.fence(t, 1, new Date())).toBe(true);
    expect(await ledger.commit(commitOf(t, 1, 'stale-worker'))).toBe('fenced');
    expect(await ledger.isCommitted(t._id)).toBe(false);
    // The next attempt commits normally.
    expect(await ledger.commit(commitOf(t, 2, 'fresh-worker'))).toBe('committed');
    expect(await ledger.isCommitted(t._id)).toBe(true);
  });

  it('lets a commit that came first stand: the fence then fails and no new attempt is needed', async () => {
    const t = task(2);
    expect(await ledger.commit(commitOf(t, 1, 'worker'))).toBe('committed');
    expect(await ledger.fence(t, 1, new Date())).toBe(false);
    const snapshot = await ledger.snapshot(jobId);
    expect(snapshot.commits.filter((c) => c.taskId === t._id).map((c) => c.attempt)).toEqual([1]);
  });

  it('a commit and a fence racing on the same attempt: exactly one wins, many times over', async () => {
    for (let seq = 10; seq < 30; seq++) {
      const t = task(seq);
      const [fenced, committed] = await Promise.all([
        ledger.fence(t, 1, new Date()),
        ledger.commit(commitOf(t, 1, 'racer')),
      ]);
      expect(fenced !== (committed === 'committed')).toBe(true);
    }
  });

  it('counts only committed attempts in the snapshot and in the ranges the assembler reads', async () => {
    const snapshot = await ledger.snapshot(jobId);
    expect(snapshot.commits.every((c) => c.outcome === 'committed')).toBe(true);
    const ranges = await ledger.committedRanges(jobId);
    expect(ranges.map((c) => c.seq)).toEqual([...ranges.map((c) => c.seq)].sort((a, b) => a - b));
    expect(ranges.find((c) => c.taskId === task(1)._id)?.attempt).toBe(2);
  });

  it('renews a claim with progress (the lease holder is its only writer)', async () => {
    const t = task(3);
    await ledger.claim(claimOf(t, 1, 'w'));
    const later = new Date(Date.now() + 5_000);
    await ledger.renew(attemptId(t._id, 1), { ...COUNTS, rowsRead: 42 }, later);
    const claim = (await ledger.snapshot(jobId)).claims.find((c) => c.taskId === t._id);
    expect(claim?.progress.rowsRead).toBe(42);
    expect(new Date(claim!.renewedAt).getTime()).toBe(later.getTime());
  });

  it('stores rows idempotently: a task written twice leaves one copy of each row', async () => {
    const collection = sinkCollectionName('ws_it', 'db://it-sink');
    const batch = [{ name: 'A' }, { name: 'B' }, { name: 'C' }];
    const docs = rows.collectionDocs(jobId, batch, [2, 3, 4]);
    await rows.insertIdempotently(collection, docs.slice(0, 2));
    await rows.insertIdempotently(collection, docs);
    await rows.insertIdempotently(collection, docs);
    const page = await rows.page(
      { workspaceId: 'ws_it' },
      jobId,
      { kind: 'collection', target: 'db://it-sink' },
      { limit: 10 },
    );
    expect(page.items.map((d) => d['name'])).toEqual(['A', 'B', 'C']);
    expect(page.items.map((d) => d['_id'])).toEqual([
      rowId(jobId, 2),
      rowId(jobId, 3),
      rowId(jobId, 4),
    ]);
  });

  it('pages result rows in input order and keeps workspaces apart', async () => {
    const scope = { workspaceId: 'ws_it' };
    const docs = rows.resultRowDocs(scope, jobId, [{ n: 1 }, { n: 2 }, { n: 3 }], [12, 2, 7]);
    await rows.insertIdempotently('job_rows', docs);
    const first = await rows.page(scope, jobId, { kind: 'result-store' }, { limit: 2 });
    expect(first.items.map((d) => (d['row'] as { n: number }).n)).toEqual([2, 3]);
    const second = await rows.page(
      scope,
      jobId,
      { kind: 'result-store' },
      { limit: 2, cursor: first.nextCursor! },
    );
    expect(second.items.map((d) => (d['row'] as { n: number }).n)).toEqual([1]);
    expect(second.nextCursor).toBeNull();
    const other = await rows.page(
      { workspaceId: 'ws_other' },
      jobId,
      { kind: 'result-store' },
      { limit: 10 },
    );
    expect(other.items).toEqual([]);
  });
});
