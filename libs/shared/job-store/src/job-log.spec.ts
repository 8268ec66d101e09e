import type { Logger } from '@nestjs/common';
import {
  JobLogger,
  JobLogWriter,
  maskCredentials,
  type JobLogContext,
  type JobLogLimits,
} from './job-log';
import type { JobLogDocument } from './job-log.repository';

const JOB: JobLogContext = { workspaceId: 'ws_a', jobId: 'job_1' };
const TASK = (taskId: string, attempt = 1): JobLogContext => ({
  ...JOB,
  taskId,
  attempt,
  workerId: 'worker-1',
});

/** A store that keeps every insert, or fails while `failing` is set. */
class MemoryStore {
  readonly inserts: JobLogDocument[][] = [];
  failing: Error | null = null;

  readonly insert = (lines: JobLogDocument[]): Promise<void> => {
    if (this.failing) return Promise.reject(this.failing);
    this.inserts.push(lines);
    return Promise.resolve();
  };

  get lines(): JobLogDocument[] {
    return this.inserts.flat();
  }
}

function setup(limits: Partial<JobLogLimits> = {}, clock?: () => number) {
  const store = new MemoryStore();
  const lost: { lines: number; error?: unknown }[] = [];
  const writer = new JobLogWriter(
    store.insert,
    (lines, error) => lost.push({ lines, error }),
    { flushDelayMs: 100, batchLines: 10, ...limits },
    clock,
  );
  return { store, lost, writer };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('JobLogWriter', () => {
  describe('batching', () => {
    it('writes nothing per line: lines wait up to flushDelayMs and go in one insert', async () => {
      const { store, writer } = setup();
      for (let i = 0; i < 5; i++) writer.append('worker', 'info', TASK('t1'), `line ${i}`);
      await jest.advanceTimersByTimeAsync(99);
      expect(store.inserts).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.inserts).toHaveLength(1);
      expect(store.inserts[0]!.map((l) => l.message)).toEqual([
        'line 0',
        'line 1',
        'line 2',
        'line 3',
        'line 4',
      ]);
    });

    it('writes as soon as a batch is full, in inserts of at most batchLines lines', async () => {
      const { store, writer } = setup({ batchLines: 4 });
      for (let i = 0; i < 3; i++) writer.append('worker', 'info', TASK('t1'), `line ${i}`);
      await jest.advanceTimersByTimeAsync(0);
      expect(store.inserts).toHaveLength(0);
      for (let i = 3; i < 10; i++) writer.append('worker', 'info', TASK('t1'), `line ${i}`);
      await jest.advanceTimersByTimeAsync(0);
      expect(store.inserts.map((b) => b.length)).toEqual([4, 4, 2]);
      expect(store.lines.map((l) => l.message)).toEqual(
        Array.from({ length: 10 }, (_, i) => `line ${i}`),
      );
    });

    it('flush() stores everything queued before it settles', async () => {
      const { store, writer } = setup();
      writer.append('job-scheduler', 'info', JOB, 'job accepted');
      writer.append('job-scheduler', 'info', JOB, 'job planned', { tasks: 3 });
      await writer.flush();
      expect(store.lines.map((l) => l.message)).toEqual(['job accepted', 'job planned']);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(store.inserts).toHaveLength(1);
    });
  });

  describe('ordering', () => {
    it('orders a writer’s lines by _id in the order they were logged, even on a clock standing still or going back', async () => {
      const times = [5_000, 5_000, 4_000, 5_000, 7_000];
      const { store, writer } = setup({}, () => times.shift() ?? 7_000);
      for (let i = 0; i < 5; i++) writer.append('worker', 'info', TASK('t1'), `line ${i}`);
      await writer.flush();
      const ids = store.lines.map((l) => l._id);
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(5);
      expect(ids.every((id) => id.startsWith('job_1:'))).toBe(true);
    });

    it('orders the lines of several writers (scheduler and workers) by time, with distinct ids at the same time', async () => {
      let now = 1_000_000;
      const clock = () => now;
      const scheduler = setup({}, clock);
      const worker = setup({}, clock);
      scheduler.writer.append('job-scheduler', 'info', JOB, 'task dispatched');
      now += 1;
      worker.writer.append('worker', 'info', TASK('t1'), 'task started');
      now += 250;
      worker.writer.append('worker', 'info', TASK('t1'), 'task committed');
      now += 1;
      scheduler.writer.append('job-scheduler', 'info', JOB, 'job finished');
      await Promise.all([scheduler.writer.flush(), worker.writer.flush()]);
      const all = [...worker.store.lines, ...scheduler.store.lines].sort((a, b) =>
        a._id < b._id ? -1 : 1,
      );
      expect(all.map((l) => `${l.service}: ${l.message}`)).toEqual([
        'job-scheduler: task dispatched',
        'worker: task started',
        'worker: task committed',
        'job-scheduler: job finished',
      ]);
      scheduler.writer.append('job-scheduler', 'info', JOB, 'same microsecond');
      worker.writer.append('worker', 'info', TASK('t1'), 'same microsecond');
      await Promise.all([scheduler.writer.flush(), worker.writer.flush()]);
      expect(scheduler.store.lines.at(-1)!._id).not.toBe(worker.store.lines.at(-1)!._id);
    });

    it('stamps each line with its time, job, task, attempt and worker', async () => {
      const { store, writer } = setup({}, () => Date.UTC(2026, 10, 28, 12, 0, 0, 123) * 1000 + 456);
      writer.append('worker', 'warn', TASK('t7', 2), 'task failed', { reason: 'boom' });
      await writer.flush();
      expect(store.lines[0]).toEqual({
        _id: expect.stringMatching(/^job_1:1795867200123456:[0-9a-f]{8}$/),
        workspaceId: 'ws_a',
        jobId: 'job_1',
        time: new Date('2026-11-28T12:00:00.123Z'),
        level: 'warn',
        service: 'worker',
        message: 'task failed',
        taskId: 't7',
        attempt: 2,
        workerId: 'worker-1',
        reason: 'boom',
      });
    });
  });

  describe('bounds', () => {
    it('keeps at most maxLinesPerAttempt lines of a task attempt, then says how many it left out', async () => {
      const { store, writer } = setup({ maxLinesPerAttempt: 3 });
      const kept = Array.from({ length: 10 }, (_, i) =>
        writer.append('worker', 'warn', TASK('t1'), 'rows rejected', { rowsRejected: i }),
      );
      expect(kept).toEqual([true, true, true, false, false, false, false, false, false, false]);
      writer.settle(TASK('t1'));
      await writer.flush();
      expect(store.lines).toHaveLength(4);
      expect(store.lines[3]).toMatchObject({
        level: 'warn',
        taskId: 't1',
        attempt: 1,
        message: '… 7 lines omitted (at most 3 are kept per task attempt)',
        omitted: 7,
      });
    });

    it('bounds each attempt on its own: a flooding attempt leaves the next attempt and the job’s lines alone', async () => {
      const { store, writer } = setup({ maxLinesPerAttempt: 2 });
      for (let i = 0; i < 50; i++) writer.append('worker', 'warn', TASK('t1'), 'rows rejected');
      writer.append('worker', 'info', TASK('t1', 2), 'task started');
      writer.append('worker', 'info', TASK('t2'), 'task started');
      writer.append('job-scheduler', 'info', JOB, 'job finished');
      await writer.flush();
      expect(store.lines.map((l) => `${l.taskId ?? '-'}#${l.attempt ?? '-'} ${l.message}`)).toEqual(
        [
          't1#1 rows rejected',
          't1#1 rows rejected',
          't1#2 task started',
          't2#1 task started',
          '-#- job finished',
        ],
      );
    });

    it('settling a job settles all its attempts, and an attempt with nothing left out adds no line', async () => {
      const { store, writer } = setup({ maxLinesPerAttempt: 1 });
      writer.append('job-scheduler', 'info', TASK('t1'), 'task dispatched');
      writer.append('job-scheduler', 'warn', TASK('t1'), 'task re-dispatched');
      writer.append('job-scheduler', 'info', TASK('t2'), 'task dispatched');
      writer.settle(JOB);
      await writer.flush();
      expect(store.lines.map((l) => l.message)).toEqual([
        'task dispatched',
        'task dispatched',
        '… 1 lines omitted (at most 1 are kept per task attempt)',
      ]);
      // Settled: the count starts again.
      expect(writer.append('job-scheduler', 'info', TASK('t1'), 'again')).toBe(true);
    });

    it('remembers a bounded number of attempts: the oldest is settled to make room', async () => {
      const { store, writer } = setup({ maxLinesPerAttempt: 1, maxTrackedAttempts: 2 });
      writer.append('worker', 'info', TASK('t1'), 'a');
      writer.append('worker', 'info', TASK('t1'), 'b');
      writer.append('worker', 'info', TASK('t2'), 'c');
      writer.append('worker', 'info', TASK('t3'), 'd');
      await writer.flush();
      expect(store.lines.map((l) => `${l.taskId} ${l.message}`)).toEqual([
        't1 a',
        't2 c',
        't1 … 1 lines omitted (at most 1 are kept per task attempt)',
        't3 d',
      ]);
    });

    it('drops lines beyond maxQueuedLines while the store cannot keep up, and reports them', async () => {
      const { store, lost, writer } = setup({ maxQueuedLines: 3, batchLines: 100 });
      for (let i = 0; i < 5; i++) writer.append('worker', 'info', TASK(`t${i}`), `line ${i}`);
      await writer.flush();
      expect(store.lines.map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2']);
      expect(lost).toEqual([{ lines: 1 }, { lines: 1 }]);
    });
  });

  describe('failures', () => {
    it('never rejects when the store fails: the lines are reported lost and later ones still go in', async () => {
      const { store, lost, writer } = setup();
      store.failing = new Error('the store is down');
      writer.append('worker', 'info', TASK('t1'), 'task started');
      writer.append('worker', 'info', TASK('t1'), 'task committed');
      await expect(writer.flush()).resolves.toBeUndefined();
      expect(lost).toEqual([{ lines: 2, error: store.failing }]);
      store.failing = null;
      writer.append('worker', 'info', TASK('t2'), 'task started');
      await writer.flush();
      expect(store.lines.map((l) => `${l.taskId} ${l.message}`)).toEqual(['t2 task started']);
    });

    it('a failing timer-driven write rejects nothing (no unhandled rejection)', async () => {
      const { store, lost, writer } = setup();
      store.failing = new Error('timeout');
      writer.append('worker', 'info', TASK('t1'), 'task started');
      await jest.advanceTimersByTimeAsync(100);
      expect(lost).toHaveLength(1);
    });

    it('survives a loss reporter that throws', async () => {
      const store = new MemoryStore();
      store.failing = new Error('down');
      const writer = new JobLogWriter(store.insert, () => {
        throw new Error('reporter broke');
      });
      writer.append('worker', 'info', TASK('t1'), 'x');
      await expect(writer.flush()).resolves.toBeUndefined();
    });
  });

  describe('what a line may carry', () => {
    it('keeps only the known fields, and masks credentials in reasons', async () => {
      const { store, writer } = setup();
      writer.append('worker', 'error', TASK('t1'), 'task failed permanently', {
        reason:
          'connect to postgres://etl:hunter2@db.internal:5432/dw failed; Server=db;User Id=etl;Password=s3cret;',
        rowsRead: 4.2,
        ...({ connectionString: 'postgres://etl:hunter2@db', row: { ssn: '123' } } as object),
      });
      await writer.flush();
      const line = store.lines[0]!;
      expect(Object.keys(line).sort()).toEqual(
        [
          '_id',
          'attempt',
          'jobId',
          'level',
          'message',
          'reason',
          'rowsRead',
          'service',
          'taskId',
          'time',
          'workerId',
          'workspaceId',
        ].sort(),
      );
      expect(line.rowsRead).toBe(4);
      expect(JSON.stringify(line)).not.toMatch(/hunter2|s3cret|ssn/);
      expect(line.reason).toBe(
        'connect to postgres://etl:****@db.internal:5432/dw failed; Server=db;User Id=etl;Password=****;',
      );
    });

    it.each([
      ['PGPASSWORD=hunter2 psql', 'PGPASSWORD=**** psql'],
      ['aws_secret_access_key=AKIAxyz/abc', 'aws_secret_access_key=****'],
      ['secret_key: abc123', 'secret_key: ****'],
      ['{"password":"hunter2","user":"etl"}', '{"password":"****","user":"etl"}'],
      ['Authorization: Bearer eyJhbGciOi.x.y', 'Authorization: Bearer ****'],
      ['GET /o?X-Amz-Signature=9f3a2b&x=1', 'GET /o?X-Amz-Signature=****&x=1'],
      ['mongodb://root:pa@ss@h:27017/db', 'mongodb://root:****@h:27017/db'],
      ['apiKey=cfk_abcdef', 'apiKey=****'],
    ])('masks %s', (text, masked) => {
      expect(maskCredentials(text)).toBe(masked);
    });

    it('leaves text without credentials as it is', () => {
      const text = 'line 3: expected 2 fields, found 1 (http://127.0.0.1:9000/bucket)';
      expect(maskCredentials(text)).toBe(text);
    });
  });
});

describe('JobLogger', () => {
  function logger() {
    const store = new MemoryStore();
    const writer = new JobLogWriter(store.insert);
    const nest = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const log = new JobLogger(writer, 'worker', nest as unknown as Logger);
    return { store, nest, log, writer };
  }

  it('writes one event to the process log and to the job’s log', async () => {
    const { store, nest, log } = logger();
    log.info(TASK('t1'), 'task committed', { rowsRead: 5, rowsWritten: 5, rowsRejected: 0 });
    expect(nest.log).toHaveBeenCalledWith(
      {
        jobId: 'job_1',
        taskId: 't1',
        attempt: 1,
        workerId: 'worker-1',
        rowsRead: 5,
        rowsWritten: 5,
        rowsRejected: 0,
      },
      'task committed',
    );
    await log.flush();
    expect(store.lines).toEqual([
      expect.objectContaining({
        service: 'worker',
        level: 'info',
        message: 'task committed',
        taskId: 't1',
        rowsWritten: 5,
      }),
    ]);
  });

  it('logs warnings and errors at their level, with the error in the process log only', async () => {
    const { store, nest, log } = logger();
    const error = new Error('boom');
    log.warn(TASK('t1'), 'task stopped', { reason: 'the job was cancelled' });
    log.error(TASK('t1'), 'task failed', { reason: 'boom' }, error);
    expect(nest.warn).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'the job was cancelled' }),
      'task stopped',
    );
    expect(nest.error).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'boom', err: error }),
      'task failed',
    );
    await log.flush();
    expect(store.lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'task stopped'],
      ['error', 'task failed'],
    ]);
    expect(store.lines[1]).not.toHaveProperty('err');
  });

  it('masks credentials in the reason for the process log as well as for the job’s log', async () => {
    const { store, nest, log } = logger();
    log.error(TASK('t1'), 'task failed', { reason: 'connect postgres://etl:hunter2@db/dw' });
    expect(JSON.stringify(nest.error.mock.calls)).not.toContain('hunter2');
    expect(nest.error).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'connect postgres://etl:****@db/dw' }),
      'task failed',
    );
    await log.flush();
    expect(store.lines[0]?.reason).toBe('connect postgres://etl:****@db/dw');
  });

  it('never throws to the work it describes, whatever the writer does', () => {
    const { nest, log, writer } = logger();
    jest.spyOn(writer, 'append').mockImplementation(() => {
      throw new Error('broken writer');
    });
    expect(() => log.info(TASK('t1'), 'task started')).not.toThrow();
    expect(nest.log).toHaveBeenCalled();
  });
});
