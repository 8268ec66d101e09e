import mongoose, { type Connection } from 'mongoose';
import type { JobStatus } from '@cloudflow/contracts';
import { newId, type WorkspaceScope } from '@cloudflow/persistence';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import {
  IdempotencySchema,
  JOBS_COLLECTION,
  JOB_CANCELLATIONS_COLLECTION,
  JOB_IDEMPOTENCY_COLLECTION,
  JOB_OUTCOMES_COLLECTION,
  JobCancellationSchema,
  JobOutcomeSchema,
  JobSchema,
  type IdempotencyDocument,
  type JobCancellationDocument,
  type JobDocument,
  type JobOutcomeDocument,
} from './job.schema';
import { JobsRepository } from './jobs.repository';

const CREATED = new Date('2024-05-01T10:00:00.000Z');

/** A job as the scheduler submits it (QUEUED, nothing planned yet). */
function aJob(
  overrides: Partial<Omit<JobDocument, 'workspaceId'>> = {},
): Omit<JobDocument, 'workspaceId'> {
  return {
    _id: newId('job'),
    pipelineId: 'pl_default',
    pipelineVersion: 1,
    steps: [
      { type: 'source', config: { path: '/fake/data.csv', format: 'csv' } },
      { type: 'sink', config: { target: 'db://out' } },
    ] as unknown as JobDocument['steps'],
    errorPolicy: { mode: 'skip', maxRejected: 3 },
    input: {
      path: '/fake/data.csv',
      format: 'csv',
      csv: { delimiter: ',', quote: '"', header: true },
      columns: ['name', 'age'],
      dataStart: 9,
      firstDataLine: 2,
      bytesTotal: 1234,
      mtimeMs: 1_714_557_600_000,
    },
    output: { kind: 'collection', target: 'db://out' },
    status: 'QUEUED',
    tasksTotal: null,
    planRenewedAt: CREATED,
    cancelRequested: false,
    timeoutSeconds: 60,
    deadlineAt: new Date(CREATED.getTime() + 60_000),
    error: null,
    final: null,
    createdAt: CREATED,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

/**
 * The jobs repository on a real MongoDB-wire server: job documents, the single
 * terminal outcome (a unique insert is the compare-and-set, ADR 0003) and
 * idempotency keys, always within the caller's workspace.
 */
describe('JobsRepository on a real MongoDB-wire server', () => {
  let connection: Connection;
  let jobs: JobsRepository;
  /** A fresh workspace per test, so listings see only that test's jobs. */
  let ws: WorkspaceScope;
  let other: WorkspaceScope;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_jobs')))
      .asPromise();
    jobs = new JobsRepository(
      connection.model<JobDocument>(JOBS_COLLECTION, JobSchema),
      connection.model<JobOutcomeDocument>(JOB_OUTCOMES_COLLECTION, JobOutcomeSchema),
      connection.model<IdempotencyDocument>(JOB_IDEMPOTENCY_COLLECTION, IdempotencySchema),
      connection.model<JobCancellationDocument>(
        JOB_CANCELLATIONS_COLLECTION,
        JobCancellationSchema,
      ),
    );
    await jobs.onModuleInit();
  });

  beforeEach(() => {
    ws = { workspaceId: uniqueName('ws_jobs') };
    other = { workspaceId: uniqueName('ws_other') };
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  /** Creates jobs one after the other: ids are time-ordered, so creation order is `_id` order. */
  async function createJobs(
    scope: WorkspaceScope,
    specs: Partial<Omit<JobDocument, 'workspaceId'>>[],
  ): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of specs) ids.push((await jobs.insert(scope, aJob(spec)))._id);
    return ids;
  }

  describe('creating jobs', () => {
    it('stores a submitted job whole and reads it back in its workspace', async () => {
      const job = aJob({
        rerunOf: 'job_earlier',
        pipelineVersion: 7,
        // The submitting request's trace, which planning and dispatches continue.
        traceContext: {
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          tracestate: 'vendor=value',
        },
      });
      const created = await jobs.insert(ws, job);
      expect(created).toMatchObject({ _id: job._id, workspaceId: ws.workspaceId });

      const stored = await jobs.findById(ws, job._id);
      expect(stored).toEqual({ ...job, workspaceId: ws.workspaceId });
      // Dates come back as dates, nulls as nulls (not dropped), nested objects intact.
      expect(stored?.deadlineAt).toBeInstanceOf(Date);
      expect(stored?.deadlineAt.getTime()).toBe(CREATED.getTime() + 60_000);
      expect(stored?.tasksTotal).toBeNull();
      expect(stored?.startedAt).toBeNull();
      expect(stored?.input.columns).toEqual(['name', 'age']);
    });

    it('keeps the fields a job was submitted without absent, not invented', async () => {
      const job = aJob();
      await jobs.insert(ws, job);
      const stored = await jobs.findById(ws, job._id);
      expect(stored).not.toHaveProperty('rerunOf');
      expect(stored).not.toHaveProperty('traceContext');
      expect(stored?.status).toBe('QUEUED');
      expect(stored?.cancelRequested).toBe(false);
    });

    it('refuses a second job with the same id, even from another workspace, and keeps the first', async () => {
      const job = aJob({ pipelineId: 'pl_first' });
      await jobs.insert(ws, job);
      await expect(jobs.insert(ws, { ...job, pipelineId: 'pl_second' })).rejects.toMatchObject({
        code: 11000,
      });
      await expect(jobs.insert(other, { ...job, pipelineId: 'pl_third' })).rejects.toMatchObject({
        code: 11000,
      });
      expect((await jobs.findById(ws, job._id))?.pipelineId).toBe('pl_first');
      expect(await jobs.findById(other, job._id)).toBeNull();
    });

    it('creates a job once when two requests with one Idempotency-Key race to create it', async () => {
      const job = aJob();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => jobs.insert(ws, { ...job, timeoutSeconds: 60 + i })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 11000 });
      }
      const page = await jobs.listNewestFirst(ws, {}, { limit: 10 });
      expect(page.items.map((j) => j._id)).toEqual([job._id]);
    });
  });

  describe('idempotency keys', () => {
    const record = (jobId: string, fingerprint = 'fp-1') => ({
      jobId,
      fingerprint,
      createdAt: CREATED,
    });

    it('claims an unused key once; a repeat gets the first record back and changes nothing', async () => {
      expect(await jobs.findIdempotencyKey(ws, 'key-1')).toBeNull();
      expect(await jobs.claimIdempotencyKey(ws, 'key-1', record('job_first'))).toBeNull();

      const again = await jobs.claimIdempotencyKey(ws, 'key-1', record('job_second', 'fp-2'));
      expect(again).toMatchObject({ jobId: 'job_first', fingerprint: 'fp-1' });
      expect(again?.createdAt.getTime()).toBe(CREATED.getTime());
      expect(await jobs.findIdempotencyKey(ws, 'key-1')).toMatchObject({
        jobId: 'job_first',
        fingerprint: 'fp-1',
        workspaceId: ws.workspaceId,
      });
    });

    it('gives a key to exactly one of many concurrent requests; the others see the winner', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          jobs.claimIdempotencyKey(ws, 'racy-key', record(`job_${i}`)),
        ),
      );
      const winners = results.flatMap((r, i) => (r === null ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = `job_${winners[0]}`;
      for (const r of results) if (r !== null) expect(r.jobId).toBe(winner);
      expect((await jobs.findIdempotencyKey(ws, 'racy-key'))?.jobId).toBe(winner);
    });

    it('keeps keys per workspace: the same key in another workspace is a new key', async () => {
      expect(await jobs.claimIdempotencyKey(ws, 'shared', record('job_a'))).toBeNull();
      expect(await jobs.findIdempotencyKey(other, 'shared')).toBeNull();
      expect(await jobs.claimIdempotencyKey(other, 'shared', record('job_b'))).toBeNull();
      expect((await jobs.findIdempotencyKey(ws, 'shared'))?.jobId).toBe('job_a');
      expect((await jobs.findIdempotencyKey(other, 'shared'))?.jobId).toBe('job_b');
    });
  });

  describe('cancel requests', () => {
    it('marks an unfinished job CANCELLING, and leaves a finished one alone', async () => {
      const [running, done] = await createJobs(ws, [
        { status: 'RUNNING' },
        { status: 'SUCCEEDED' },
      ]);
      const at = new Date('2024-05-01T10:00:09.000Z');
      await jobs.requestCancel(ws, running!, at);
      await jobs.requestCancel(ws, running!, at); // twice: still one request
      await jobs.requestCancel(ws, done!, at);
      expect(await jobs.findById(ws, running!)).toMatchObject({
        status: 'CANCELLING',
        cancelRequested: true,
      });
      expect(await jobs.findById(ws, done!)).toMatchObject({
        status: 'SUCCEEDED',
        cancelRequested: false,
      });
    });

    it('survives a concurrent write that loses the mark on the job (FerretDB can)', async () => {
      const [id] = await createJobs(ws, [{ status: 'RUNNING' }]);
      const before = await jobs.findById(ws, id!);
      await jobs.requestCancel(ws, id!, new Date());
      // A read-modify-write that read the job before the cancel writes it back whole.
      await connection.collection(JOBS_COLLECTION).replaceOne({ _id: id! as never }, before!);
      expect(
        (await connection.collection(JOBS_COLLECTION).findOne({ _id: id! as never }))?.[
          'cancelRequested'
        ],
      ).toBe(false);

      expect(await jobs.findById(ws, id!)).toMatchObject({
        status: 'CANCELLING',
        cancelRequested: true,
      });
      const swept = (await jobs.findActive(1000)).find((j) => j._id === id);
      expect(swept).toMatchObject({ status: 'CANCELLING', cancelRequested: true });
      // Another workspace neither sees the job nor its request.
      expect(await jobs.findById(other, id!)).toBeNull();
    });
  });

  describe('status transitions', () => {
    it('markRunning moves a QUEUED job to RUNNING with its start time', async () => {
      const [id] = await createJobs(ws, [{}]);
      const at = new Date('2024-05-01T10:00:05.000Z');
      await jobs.markRunning(ws, id!, at);
      const stored = await jobs.findById(ws, id!);
      expect(stored?.status).toBe('RUNNING');
      expect(stored?.startedAt?.getTime()).toBe(at.getTime());
    });

    it.each<JobStatus>(['RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED'])(
      'markRunning does nothing to a %s job',
      async (status) => {
        const startedAt = status === 'CANCELLING' ? null : new Date('2024-05-01T10:00:01.000Z');
        const [id] = await createJobs(ws, [{ status, startedAt }]);
        await jobs.markRunning(ws, id!, new Date('2024-05-01T11:00:00.000Z'));
        const stored = await jobs.findById(ws, id!);
        expect(stored?.status).toBe(status);
        expect(stored?.startedAt?.getTime() ?? null).toBe(startedAt?.getTime() ?? null);
      },
    );

    it('markRunning from several task starts at once leaves one RUNNING job with one of their times', async () => {
      const [id] = await createJobs(ws, [{}]);
      const times = Array.from(
        { length: 8 },
        (_, i) => new Date(CREATED.getTime() + 1000 * (i + 1)),
      );
      await Promise.all(times.map((t) => jobs.markRunning(ws, id!, t)));
      const stored = await jobs.findById(ws, id!);
      expect(stored?.status).toBe('RUNNING');
      expect(times.map((t) => t.getTime())).toContain(stored?.startedAt?.getTime());
    });

    it('findOneAndUpdate is a compare-and-set: it applies only from the expected state', async () => {
      const [id] = await createJobs(ws, [{ status: 'RUNNING' }]);
      // From the wrong state: nothing matches, nothing changes.
      expect(
        await jobs.findOneAndUpdate(
          ws,
          { _id: id!, status: 'QUEUED' },
          { $set: { status: 'CANCELLED' } },
        ),
      ).toBeNull();
      expect((await jobs.findById(ws, id!))?.status).toBe('RUNNING');

      const updated = await jobs.findOneAndUpdate(
        ws,
        { _id: id!, status: 'RUNNING' },
        { $set: { status: 'CANCELLING', cancelRequested: true } },
      );
      // The job as it is after the update.
      expect(updated).toMatchObject({ _id: id, status: 'CANCELLING', cancelRequested: true });
      expect((await jobs.findById(ws, id!))?.status).toBe('CANCELLING');
    });

    it('update sets the given fields and leaves the rest of the job alone', async () => {
      const [id] = await createJobs(ws, [{ status: 'RUNNING' }]);
      const finishedAt = new Date('2024-05-01T10:05:00.000Z');
      const final = {
        progress: {
          tasksTotal: 2,
          tasksDone: 2,
          rowsRead: 10,
          rowsWritten: 9,
          rowsRejected: 1,
          bytesRead: 100,
          bytesTotal: 1234,
        },
        attempts: { total: 3, retries: 1 },
      } as unknown as JobDocument['final'];
      await jobs.update(ws, id!, {
        status: 'FAILED',
        error: { message: 'too many rejected rows', details: 'line 7' },
        finishedAt,
        final,
      });
      const stored = await jobs.findById(ws, id!);
      expect(stored).toMatchObject({
        status: 'FAILED',
        error: { message: 'too many rejected rows', details: 'line 7' },
        final,
        pipelineId: 'pl_default',
        timeoutSeconds: 60,
      });
      expect(stored?.finishedAt?.getTime()).toBe(finishedAt.getTime());
      expect(stored?.input).toEqual(aJob().input);
    });

    it('update of an unknown job creates nothing', async () => {
      await jobs.update(ws, 'job_missing', { status: 'CANCELLING', cancelRequested: true });
      expect(await jobs.findById(ws, 'job_missing')).toBeNull();
      expect((await jobs.listNewestFirst(ws, {}, { limit: 10 })).items).toEqual([]);
    });
  });

  describe('outcomes', () => {
    it('records the first outcome only; a later one is refused and the first stands', async () => {
      const [id] = await createJobs(ws, [{ status: 'RUNNING' }]);
      const first = new Date('2024-05-01T10:10:00.000Z');
      expect(await jobs.findOutcome(ws, id!)).toBeNull();
      expect(
        await jobs.recordOutcome(ws, {
          _id: id!,
          status: 'SUCCEEDED',
          error: null,
          finishedAt: first,
        }),
      ).toBe(true);
      expect(
        await jobs.recordOutcome(ws, {
          _id: id!,
          status: 'FAILED',
          error: { message: 'late' },
          finishedAt: new Date(),
        }),
      ).toBe(false);
      const outcome = await jobs.findOutcome(ws, id!);
      expect(outcome).toMatchObject({
        _id: id,
        workspaceId: ws.workspaceId,
        status: 'SUCCEEDED',
        error: null,
      });
      expect(outcome?.finishedAt.getTime()).toBe(first.getTime());
    });

    it('a job finishing and being cancelled at once: exactly one outcome wins, many times over', async () => {
      for (let round = 0; round < 15; round++) {
        const [id] = await createJobs(ws, [{ status: 'CANCELLING' }]);
        const statuses = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'SUCCEEDED', 'CANCELLED'] as const;
        const results = await Promise.all(
          statuses.map((status, i) =>
            jobs.recordOutcome(ws, {
              _id: id!,
              status,
              error: status === 'FAILED' ? { message: `replica ${i}` } : null,
              finishedAt: new Date(CREATED.getTime() + i),
            }),
          ),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        const outcome = await jobs.findOutcome(ws, id!);
        expect(outcome?.status).toBe(statuses[winners[0]!]);
        expect(outcome?.finishedAt.getTime()).toBe(CREATED.getTime() + winners[0]!);
      }
    });

    it('another workspace cannot read a job’s outcome', async () => {
      const [id] = await createJobs(ws, [{ status: 'RUNNING' }]);
      expect(
        await jobs.recordOutcome(ws, {
          _id: id!,
          status: 'SUCCEEDED',
          error: null,
          finishedAt: CREATED,
        }),
      ).toBe(true);
      expect(await jobs.findOutcome(other, id!)).toBeNull();
      expect((await jobs.findOutcome(ws, id!))?.status).toBe('SUCCEEDED');
    });
  });

  describe('listing newest first', () => {
    it('pages through a workspace’s jobs newest first with cursors, each job once', async () => {
      const ids = await createJobs(
        ws,
        Array.from({ length: 7 }, () => ({})),
      );
      const seen: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await jobs.listNewestFirst(ws, {}, { limit: 3, cursor });
        seen.push(...page.items.map((j) => j._id));
        pageSizes.push(page.items.length);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(seen).toEqual([...ids].reverse());
      expect(pageSizes).toEqual([3, 3, 1]);
    });

    it('has no next page when the last page is exactly full', async () => {
      await createJobs(ws, [{}, {}, {}, {}]);
      const first = await jobs.listNewestFirst(ws, {}, { limit: 2 });
      const second = await jobs.listNewestFirst(ws, {}, { limit: 2, cursor: first.nextCursor! });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
      const all = await jobs.listNewestFirst(ws, {}, { limit: 4 });
      expect(all.nextCursor).toBeNull();
    });

    it('stays stable while new jobs are submitted between pages', async () => {
      const ids = await createJobs(ws, [{}, {}, {}, {}]);
      const first = await jobs.listNewestFirst(ws, {}, { limit: 2 });
      const [newer] = await createJobs(ws, [{}]);
      const second = await jobs.listNewestFirst(ws, {}, { limit: 2, cursor: first.nextCursor! });
      expect([...first.items, ...second.items].map((j) => j._id)).toEqual([...ids].reverse());
      expect((await jobs.listNewestFirst(ws, {}, { limit: 1 })).items[0]?._id).toBe(newer);
    });

    it('filters by pipeline, by status and by both, across pages', async () => {
      const ids = await createJobs(ws, [
        { pipelineId: 'pl_a', status: 'SUCCEEDED' },
        { pipelineId: 'pl_b', status: 'SUCCEEDED' },
        { pipelineId: 'pl_a', status: 'FAILED' },
        { pipelineId: 'pl_a', status: 'SUCCEEDED' },
        { pipelineId: 'pl_b', status: 'RUNNING' },
        { pipelineId: 'pl_a', status: 'SUCCEEDED' },
      ]);
      const all = async (filter: { pipelineId?: string; status?: JobStatus }) => {
        const out: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await jobs.listNewestFirst(ws, filter, { limit: 2, cursor });
          out.push(...page.items.map((j) => j._id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        return out;
      };
      expect(await all({ pipelineId: 'pl_a' })).toEqual([ids[5], ids[3], ids[2], ids[0]]);
      expect(await all({ status: 'SUCCEEDED' })).toEqual([ids[5], ids[3], ids[1], ids[0]]);
      expect(await all({ pipelineId: 'pl_a', status: 'SUCCEEDED' })).toEqual([
        ids[5],
        ids[3],
        ids[0],
      ]);
      expect(await all({ pipelineId: 'pl_b', status: 'FAILED' })).toEqual([]);
      expect(await all({ pipelineId: 'pl_missing' })).toEqual([]);
    });

    it('lists a job under its new status after a transition', async () => {
      const [id] = await createJobs(ws, [{}]);
      expect(
        (await jobs.listNewestFirst(ws, { status: 'QUEUED' }, { limit: 5 })).items,
      ).toHaveLength(1);
      await jobs.markRunning(ws, id!, new Date());
      expect((await jobs.listNewestFirst(ws, { status: 'QUEUED' }, { limit: 5 })).items).toEqual(
        [],
      );
      expect(
        (await jobs.listNewestFirst(ws, { status: 'RUNNING' }, { limit: 5 })).items.map(
          (j) => j._id,
        ),
      ).toEqual([id]);
    });

    it('refuses a cursor it did not hand out rather than starting over', async () => {
      await createJobs(ws, [{}, {}]);
      await expect(
        jobs.listNewestFirst(ws, {}, { limit: 1, cursor: 'not a cursor!' }),
      ).rejects.toThrow('invalid page cursor');
    });
  });

  describe('workspace isolation', () => {
    it('another workspace never sees, lists, updates, transitions or deletes the job', async () => {
      const [id] = await createJobs(ws, [{ pipelineId: 'pl_shared' }]);
      await createJobs(other, [{ pipelineId: 'pl_shared' }]);

      expect(await jobs.findById(other, id!)).toBeNull();
      const listed = await jobs.listNewestFirst(other, { pipelineId: 'pl_shared' }, { limit: 10 });
      expect(listed.items.map((j) => j._id)).not.toContain(id);
      expect(listed.items).toHaveLength(1);
      expect(listed.items.every((j) => j.workspaceId === other.workspaceId)).toBe(true);
      const paged = await jobs.findPage(other, { limit: 10 });
      expect(paged.items.map((j) => j._id)).not.toContain(id);

      await jobs.update(other, id!, { status: 'CANCELLING', cancelRequested: true });
      await jobs.markRunning(other, id!, new Date());
      expect(
        await jobs.findOneAndUpdate(other, { _id: id! }, { $set: { status: 'FAILED' } }),
      ).toBeNull();
      expect(await jobs.deleteOne(other, { _id: id! })).toBe(false);

      const stored = await jobs.findById(ws, id!);
      expect(stored).toMatchObject({ status: 'QUEUED', cancelRequested: false, startedAt: null });
    });

    it('a cursor from one workspace’s listing pages nothing of another’s', async () => {
      const [early] = await createJobs(other, [{}]);
      await createJobs(ws, [{}, {}, {}]);
      const first = await jobs.listNewestFirst(ws, {}, { limit: 1 });
      const rest = await jobs.listNewestFirst(ws, {}, { limit: 10, cursor: first.nextCursor! });
      expect(rest.items).toHaveLength(2);
      expect(rest.items.map((j) => j._id)).not.toContain(early);
    });
  });

  describe('the sweep of unfinished jobs', () => {
    it('finds QUEUED, RUNNING and CANCELLING jobs of every workspace, oldest first, page by page', async () => {
      const before = await activeIds();
      const statuses: JobStatus[] = [
        'QUEUED',
        'SUCCEEDED',
        'RUNNING',
        'FAILED',
        'CANCELLING',
        'CANCELLED',
        'QUEUED',
      ];
      const mine = await createJobs(
        ws,
        statuses.map((status) => ({ status })),
      );
      const theirs = await createJobs(other, [{ status: 'RUNNING' }, { status: 'SUCCEEDED' }]);

      const found = (await activeIds()).filter((id) => !before.includes(id));
      expect(found).toEqual([mine[0], mine[2], mine[4], mine[6], theirs[0]]);
    });

    it('stops listing a job once it finished', async () => {
      const [id] = await createJobs(ws, [{ status: 'RUNNING' }]);
      expect(await activeIds()).toContain(id);
      await jobs.update(ws, id!, { status: 'SUCCEEDED', finishedAt: new Date() });
      expect(await activeIds()).not.toContain(id);
    });

    it('counts the jobs of every workspace by state, every state named', async () => {
      const before = await jobs.countByStatus();
      await createJobs(ws, [
        { status: 'QUEUED' },
        { status: 'SUCCEEDED' },
        { status: 'SUCCEEDED' },
        { status: 'CANCELLING' },
      ]);
      await createJobs(other, [{ status: 'SUCCEEDED' }, { status: 'FAILED' }]);

      const after = await jobs.countByStatus();
      const added = Object.fromEntries(
        Object.entries(after).map(([state, n]) => [state, n - before[state as JobStatus]]),
      );
      expect(added).toEqual({
        QUEUED: 1,
        RUNNING: 0,
        SUCCEEDED: 3,
        FAILED: 1,
        CANCELLING: 1,
        CANCELLED: 0,
      });
    });

    /** The whole sweep, two jobs a page, as the sweeper walks it. */
    async function activeIds(): Promise<string[]> {
      const out: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await jobs.findActive(2, after);
        out.push(...page.map((j) => j._id));
        expect(page.every((j) => ['QUEUED', 'RUNNING', 'CANCELLING'].includes(j.status))).toBe(
          true,
        );
        if (page.length < 2) return out;
        after = page[page.length - 1]!._id;
      }
    }
  });

  describe('deleting and paging oldest first (inherited)', () => {
    it('deletes a job in its workspace; it is then gone from reads and listings', async () => {
      const [keep, drop] = await createJobs(ws, [{}, {}]);
      expect(await jobs.deleteOne(ws, { _id: drop! })).toBe(true);
      expect(await jobs.deleteOne(ws, { _id: drop! })).toBe(false);
      expect(await jobs.findById(ws, drop!)).toBeNull();
      expect((await jobs.listNewestFirst(ws, {}, { limit: 10 })).items.map((j) => j._id)).toEqual([
        keep,
      ]);
    });

    it('findPage pages oldest first with a filter', async () => {
      const ids = await createJobs(ws, [
        { pipelineId: 'pl_x' },
        { pipelineId: 'pl_y' },
        { pipelineId: 'pl_x' },
        { pipelineId: 'pl_x' },
      ]);
      const first = await jobs.findPage(ws, { limit: 2 }, { pipelineId: 'pl_x' });
      const second = await jobs.findPage(
        ws,
        { limit: 2, cursor: first.nextCursor! },
        { pipelineId: 'pl_x' },
      );
      expect([...first.items, ...second.items].map((j) => j._id)).toEqual([ids[0], ids[2], ids[3]]);
      expect(second.nextCursor).toBeNull();
    });
  });
});
