import mongoose, { type Connection } from 'mongoose';
import { newId, type WorkspaceScope } from '@cloudflow/persistence';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { JobLogWriter, type JobLogContext } from './job-log';
import { JOB_LOGS_COLLECTION, JobLogRepository, type JobLogDocument } from './job-log.repository';

/**
 * Job logs on a real MongoDB-wire server: lines of the scheduler and of
 * workers, each written by its own batching writer, read back a page at a
 * time in time order, within one workspace and one job.
 */
describe('JobLogRepository on a real MongoDB-wire server', () => {
  let connection: Connection;
  let repository: JobLogRepository;
  let ws: WorkspaceScope;
  let jobId: string;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_job_logs')))
      .asPromise();
    repository = new JobLogRepository(connection);
  });

  beforeEach(() => {
    ws = { workspaceId: uniqueName('ws_logs') };
    jobId = newId('job');
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  const job = (): JobLogContext => ({ workspaceId: ws.workspaceId, jobId });
  const task = (n: number, attempt = 1): JobLogContext => ({
    ...job(),
    taskId: `${jobId}.${String(n).padStart(6, '0')}`,
    attempt,
    workerId: 'worker-a',
  });

  /** Every line of the job, following the pages; and the size of each page. */
  async function readAll(
    scope: WorkspaceScope,
    id: string,
    limit: number,
  ): Promise<{ lines: JobLogDocument[]; pages: number[] }> {
    const lines: JobLogDocument[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await repository.page(scope, id, { limit, cursor });
      lines.push(...page.items);
      pages.push(page.items.length);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return { lines, pages };
  }

  it('reads back the lines of the scheduler and a worker interleaved in time order, limit at a time', async () => {
    let now = Date.now() * 1000;
    const clock = () => now;
    const scheduler = new JobLogWriter((lines) => repository.insert(lines), undefined, {}, clock);
    const worker = new JobLogWriter((lines) => repository.insert(lines), undefined, {}, clock);
    const events: [JobLogWriter, 'job-scheduler' | 'worker', JobLogContext, string][] = [
      [scheduler, 'job-scheduler', job(), 'job accepted'],
      [scheduler, 'job-scheduler', task(0), 'task dispatched'],
      [worker, 'worker', task(0), 'task started'],
      [scheduler, 'job-scheduler', job(), 'job planned'],
      [worker, 'worker', task(0), 'task committed'],
      [scheduler, 'job-scheduler', job(), 'job finished'],
    ];
    for (const [writer, service, context, message] of events) {
      writer.append(service, 'info', context, message);
      now += 10;
    }
    // The worker's batch lands first: the order comes from the lines, not from the inserts.
    await worker.flush();
    await scheduler.flush();

    const { lines, pages } = await readAll(ws, jobId, 2);
    expect(lines.map((l) => `${l.service}: ${l.message}`)).toEqual([
      'job-scheduler: job accepted',
      'job-scheduler: task dispatched',
      'worker: task started',
      'job-scheduler: job planned',
      'worker: task committed',
      'job-scheduler: job finished',
    ]);
    expect(pages).toEqual([2, 2, 2]);
    expect(lines[2]).toMatchObject({
      workspaceId: ws.workspaceId,
      jobId,
      level: 'info',
      taskId: task(0).taskId,
      attempt: 1,
      workerId: 'worker-a',
    });
    expect(lines[2]!.time).toBeInstanceOf(Date);
    const all = await repository.page(ws, jobId, { limit: 100 });
    expect(all.items).toHaveLength(6);
    expect(all.nextCursor).toBeNull();
  });

  it('shows a job’s lines only within its workspace, and never another job’s', async () => {
    const writer = new JobLogWriter((lines) => repository.insert(lines));
    // An id that shares the job's id as a prefix must not leak into its pages.
    const longer = `${jobId}0`;
    writer.append('job-scheduler', 'info', job(), 'mine');
    writer.append('job-scheduler', 'info', { ...job(), jobId: longer }, 'a longer id');
    writer.append('job-scheduler', 'info', { workspaceId: 'ws_other', jobId }, 'theirs');
    await writer.flush();
    expect((await readAll(ws, jobId, 10)).lines.map((l) => l.message)).toEqual(['mine']);
    expect((await readAll({ workspaceId: 'ws_nobody' }, jobId, 10)).lines).toEqual([]);
    expect(
      (await readAll({ workspaceId: 'ws_other' }, jobId, 10)).lines.map((l) => l.message),
    ).toEqual(['theirs']);
  });

  it('stores a batch written again (a retried insert) once', async () => {
    const batches: JobLogDocument[][] = [];
    const writer = new JobLogWriter((lines) => {
      batches.push(lines);
      return repository.insert(lines);
    });
    for (let i = 0; i < 3; i++) writer.append('worker', 'info', task(1), `line ${i}`);
    await writer.flush();
    await repository.insert(batches[0]!);
    expect((await readAll(ws, jobId, 10)).lines.map((l) => l.message)).toEqual([
      'line 0',
      'line 1',
      'line 2',
    ]);
  });

  it('keeps a flooding attempt to its bound, with the count of what it left out', async () => {
    const writer = new JobLogWriter((lines) => repository.insert(lines), undefined, {
      maxLinesPerAttempt: 5,
      batchLines: 3,
    });
    for (let i = 0; i < 1_000; i++) {
      writer.append('worker', 'warn', task(2), 'rows rejected', { rowsRejected: 1 });
    }
    writer.settle(task(2));
    await writer.flush();
    const { lines } = await readAll(ws, jobId, 100);
    expect(lines).toHaveLength(6);
    expect(lines.at(-1)).toMatchObject({ message: expect.stringMatching(/^… 995 lines omitted/) });
    expect(lines.at(-1)!.omitted).toBe(995);
    expect(await connection.db!.collection(JOB_LOGS_COLLECTION).countDocuments({ jobId })).toBe(6);
  });

  it('refuses a cursor it did not issue, or one of another job', async () => {
    const writer = new JobLogWriter((lines) => repository.insert(lines));
    for (let i = 0; i < 3; i++) writer.append('worker', 'info', task(3), `line ${i}`);
    await writer.flush();
    const first = await repository.page(ws, jobId, { limit: 1 });
    expect(first.nextCursor).not.toBeNull();
    await expect(
      repository.page(ws, newId('job'), { limit: 1, cursor: first.nextCursor! }),
    ).rejects.toThrow('invalid page cursor');
    await expect(repository.page(ws, jobId, { limit: 1, cursor: 'not a cursor!' })).rejects.toThrow(
      'invalid page cursor',
    );
  });
});
