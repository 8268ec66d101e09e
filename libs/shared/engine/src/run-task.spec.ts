import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorPolicy, TaskCounts, TransformConfig } from '@cloudflow/contracts';
import { DEFAULT_CSV_OPTIONS, type InputFormat, type Rejection, type Row } from './model';
import { PermanentTaskError, runRangeTask, type RangeTask } from './run-task';
import { FilePartSink, type RejectSink, type RowSink } from './sinks';
import { compileTransforms } from './transforms/compile-transforms';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudflow-run-task-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fixture(content: string): Promise<{ path: string; size: number }> {
  const path = join(dir, `input${n++}`);
  await writeFile(path, content);
  return { path, size: Buffer.byteLength(content) };
}

/** Keeps what it is given, in memory, and the order of calls. */
class MemorySink implements RowSink {
  readonly rows: Row[] = [];
  readonly lines: number[] = [];
  readonly calls: string[] = [];
  constructor(private readonly failOn?: 'write' | 'commit') {}

  async write(rows: Row[], lines: number[]): Promise<void> {
    this.calls.push('write');
    if (this.failOn === 'write') throw new Error('sink unavailable');
    this.rows.push(...rows.map((r) => ({ ...r })));
    this.lines.push(...lines);
  }
  async commit(): Promise<void> {
    this.calls.push('commit');
    if (this.failOn === 'commit') throw new Error('commit failed');
  }
  async abort(): Promise<void> {
    this.calls.push('abort');
  }
}

class MemoryRejects implements RejectSink {
  readonly rejected: Rejection[] = [];
  readonly writes: number[] = [];
  async write(rejections: Rejection[]): Promise<void> {
    this.writes.push(rejections.length);
    this.rejected.push(...rejections.map((r) => ({ ...r })));
  }
}

const CSV: InputFormat = { format: 'csv', csv: DEFAULT_CSV_OPTIONS };
const JSONL: InputFormat = { format: 'jsonl', csv: DEFAULT_CSV_OPTIONS };
const SKIP: ErrorPolicy = { mode: 'skip' };

const HEADER = 'id,name,amount\n';
// Line 2 is filtered out, 3 is malformed, 4 fails the cast, 5 and 6 come through.
const CSV_TEXT = HEADER + '1,ada,10\n' + '2,bob\n' + '3,cy,lots\n' + '4,di,40\n' + '5,eve,25\n';

const CAST_FILTER_UPPER: TransformConfig[] = [
  { operation: 'cast', types: { amount: 'number' } },
  { operation: 'filter', expression: 'amount > 15' },
  { operation: 'uppercase', fields: ['name'] },
];

async function csvTask(over: Partial<RangeTask> = {}, text = CSV_TEXT) {
  const { path, size } = await fixture(text);
  const sink = new MemorySink();
  const rejects = new MemoryRejects();
  const task: RangeTask = {
    source: path,
    range: { start: Buffer.byteLength(HEADER), end: size, firstLine: 2 },
    input: CSV,
    columns: ['id', 'name', 'amount'],
    transform: compileTransforms(CAST_FILTER_UPPER),
    sink,
    rejects,
    policy: SKIP,
    ...over,
  };
  return { task, sink, rejects, size };
}

async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => {
      throw new Error('expected the task to fail');
    },
    (error: unknown) => error,
  );
}

describe('runRangeTask', () => {
  it('counts rows read (malformed included), written and rejected, and the bytes of the range', async () => {
    const { task, size } = await csvTask();
    await expect(runRangeTask(task)).resolves.toStrictEqual({
      rowsRead: 5,
      rowsWritten: 2,
      rowsRejected: 2,
      bytesRead: size - Buffer.byteLength(HEADER),
    });
  });

  it('passes transformed rows to the sink with their input line numbers, then commits once', async () => {
    const { task, sink } = await csvTask();
    await runRangeTask(task);
    expect(sink.rows).toStrictEqual([
      { id: '4', name: 'DI', amount: 40 },
      { id: '5', name: 'EVE', amount: 25 },
    ]);
    expect(sink.lines).toEqual([5, 6]);
    expect(sink.calls).toEqual(['write', 'commit']);
  });

  it('routes malformed records and refused rows to the rejects under policy skip', async () => {
    const { task, rejects } = await csvTask();
    await runRangeTask(task);
    expect(rejects.rejected).toStrictEqual([
      { line: 3, reason: 'expected 3 fields, found 2', row: { id: '2', name: 'bob' } },
      {
        line: 4,
        reason: "cast: field 'amount' value 'lots' is not a number",
        row: { id: '3', name: 'cy', amount: 'lots' },
      },
    ]);
  });

  it('drops the rows a filter rejects without counting them as rejected', async () => {
    const { task, sink, rejects } = await csvTask({
      transform: compileTransforms([{ operation: 'filter', expression: 'name != "ada"' }]),
    });
    await expect(runRangeTask(task)).resolves.toMatchObject({
      rowsRead: 5,
      rowsWritten: 3,
      rowsRejected: 1,
    });
    expect(sink.lines).toEqual([4, 5, 6]);
    expect(sink.rows.map((r) => r['name'])).toEqual(['cy', 'di', 'eve']);
    expect(rejects.rejected.map((r) => r.line)).toEqual([3]);
  });

  it('writes batch by batch and reports progress after each batch', async () => {
    const progress: TaskCounts[] = [];
    const { task, sink, size } = await csvTask({
      batchRows: 2,
      onProgress: (counts) => progress.push({ ...counts }),
    });
    await runRangeTask(task);
    const b1 = Buffer.byteLength('1,ada,10\n2,bob\n');
    const b2 = b1 + Buffer.byteLength('3,cy,lots\n4,di,40\n');
    expect(progress).toEqual([
      { rowsRead: 2, rowsWritten: 0, rowsRejected: 1, bytesRead: b1 },
      { rowsRead: 4, rowsWritten: 1, rowsRejected: 2, bytesRead: b2 },
      { rowsRead: 5, rowsWritten: 2, rowsRejected: 2, bytesRead: size - HEADER.length },
    ]);
    expect(sink.calls).toEqual(['write', 'write', 'commit']);
  });

  it('reads only its own byte range, numbering lines from range.firstLine', async () => {
    const start = Buffer.byteLength(HEADER + '1,ada,10\n2,bob\n');
    const end = start + Buffer.byteLength('3,cy,lots\n4,di,40\n');
    const { task, sink, rejects } = await csvTask({
      range: { start, end, firstLine: 4 },
    });
    await expect(runRangeTask(task)).resolves.toStrictEqual({
      rowsRead: 2,
      rowsWritten: 1,
      rowsRejected: 1,
      bytesRead: end - start,
    });
    expect(sink.lines).toEqual([5]);
    expect(rejects.rejected.map((r) => r.line)).toEqual([4]);
  });

  it('runs JSON Lines, skipping blank lines and rejecting what is not an object', async () => {
    const text = '{"id":1,"name":"ada"}\n[1,2]\n\n{"id":2,"name":"bob"}\n';
    const { path, size } = await fixture(text);
    const sink = new MemorySink();
    const rejects = new MemoryRejects();
    const counts = await runRangeTask({
      source: path,
      range: { start: 0, end: size, firstLine: 1 },
      input: JSONL,
      columns: null,
      transform: compileTransforms([{ operation: 'uppercase', fields: ['name'] }]),
      sink,
      rejects,
      policy: SKIP,
    });
    expect(counts).toStrictEqual({ rowsRead: 3, rowsWritten: 2, rowsRejected: 1, bytesRead: size });
    expect(sink.rows).toStrictEqual([
      { id: 1, name: 'ADA' },
      { id: 2, name: 'BOB' },
    ]);
    expect(sink.lines).toEqual([1, 4]);
    expect(rejects.rejected).toStrictEqual([
      { line: 2, reason: 'expected a JSON object, found array' },
    ]);
  });

  it("fails permanently at the first rejected row under policy 'fail', naming its line", async () => {
    const { task, sink, rejects } = await csvTask({ policy: { mode: 'fail' } });
    const error = await failure(runRangeTask(task));
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect((error as Error).message).toBe(
      "line 3: expected 3 fields, found 2 (the pipeline's errorPolicy is 'fail'; set it to 'skip' to route such rows to the rejected output)",
    );
    expect(sink.calls).toEqual(['abort']);
    expect(rejects.rejected).toEqual([]);
  });

  it("names the earliest rejected line of the batch under policy 'fail'", async () => {
    // Line 3 fails the cast, line 4 is malformed: the reader reports line 4
    // first, but the error names line 3.
    const text = HEADER + '1,ada,20\n' + '2,bob,lots\n' + '3,cy\n';
    const { task } = await csvTask({ policy: { mode: 'fail' } }, text);
    const error = await failure(runRangeTask(task));
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect((error as Error).message).toBe(
      "line 3: cast: field 'amount' value 'lots' is not a number (the pipeline's errorPolicy is 'fail'; set it to 'skip' to route such rows to the rejected output)",
    );
  });

  it('fails permanently once more rows than maxRejected were rejected under policy skip', async () => {
    const { task, sink, rejects } = await csvTask({
      policy: { mode: 'skip', maxRejected: 1 },
      batchRows: 2,
    });
    const error = await failure(runRangeTask(task));
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect((error as Error).message).toBe(
      "more than 1 rows rejected (errorPolicy.maxRejected); among them line 4: cast: field 'amount' value 'lots' is not a number",
    );
    // The first batch's rejection was within the limit and recorded; nothing was committed.
    expect(rejects.rejected.map((r) => r.line)).toEqual([3]);
    expect(sink.calls).toEqual(['abort']);
  });

  it('succeeds with exactly maxRejected rejected rows', async () => {
    const { task, sink } = await csvTask({ policy: { mode: 'skip', maxRejected: 2 } });
    await expect(runRangeTask(task)).resolves.toMatchObject({ rowsRejected: 2 });
    expect(sink.calls).toEqual(['write', 'commit']);
  });

  it('counts the rows other tasks rejected toward maxRejected', async () => {
    const { task, sink } = await csvTask({
      policy: { mode: 'skip', maxRejected: 2 },
      rejectedElsewhere: 1,
    });
    const error = await failure(runRangeTask(task));
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect((error as Error).message).toBe(
      'more than 2 rows rejected (errorPolicy.maxRejected); among them line 3: expected 3 fields, found 2',
    );
    expect(sink.calls).toEqual(['abort']);
  });

  it('aborts the sink and passes the error on when the sink fails to write', async () => {
    const { task } = await csvTask();
    const sink = new MemorySink('write');
    await expect(runRangeTask({ ...task, sink })).rejects.toThrow('sink unavailable');
    expect(sink.calls).toEqual(['write', 'abort']);
  });

  it('aborts the sink when the commit itself fails', async () => {
    const { task } = await csvTask();
    const sink = new MemorySink('commit');
    await expect(runRangeTask({ ...task, sink })).rejects.toThrow('commit failed');
    expect(sink.calls).toEqual(['write', 'commit', 'abort']);
  });

  it('does not start when the signal is already aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('the job was cancelled'));
    const { task, sink, rejects } = await csvTask({ signal: abort.signal });
    await expect(runRangeTask(task)).rejects.toThrow('the job was cancelled');
    expect(sink.calls).toEqual(['abort']);
    expect(rejects.writes).toEqual([]);
  });

  it('stops between batches when the signal is aborted, without committing', async () => {
    const abort = new AbortController();
    const { task, sink } = await csvTask({
      transform: compileTransforms([]),
      batchRows: 1,
      signal: abort.signal,
      onProgress: (counts) => {
        if (counts.rowsWritten === 1) abort.abort(new Error('attempt 1 was superseded by 2'));
      },
    });
    await expect(runRangeTask(task)).rejects.toThrow('attempt 1 was superseded by 2');
    expect(sink.calls).toEqual(['write', 'abort']);
    expect(sink.lines).toEqual([2]);
  });

  it('does not commit when the signal is aborted during the last batch', async () => {
    const abort = new AbortController();
    const { task, sink } = await csvTask({
      signal: abort.signal,
      onProgress: () => abort.abort(new Error('no progress for 60000 ms; abandoned')),
    });
    await expect(runRangeTask(task)).rejects.toThrow('no progress for 60000 ms; abandoned');
    expect(sink.calls).toEqual(['write', 'abort']);
  });

  it('rejects rows that do not fit a CSV part, and writes the others', async () => {
    const text = '{"a":1,"b":2}\n{"a":3,"c":4}\n{"b":5}\n';
    const { path, size } = await fixture(text);
    const part = join(dir, `part${n++}`);
    const rejects = new MemoryRejects();
    const counts = await runRangeTask({
      source: path,
      range: { start: 0, end: size, firstLine: 1 },
      input: JSONL,
      columns: null,
      transform: compileTransforms([]),
      sink: new FilePartSink(part, 'csv'),
      rejects,
      policy: SKIP,
    });
    expect(counts).toStrictEqual({ rowsRead: 3, rowsWritten: 2, rowsRejected: 1, bytesRead: size });
    expect(rejects.rejected).toStrictEqual([
      {
        line: 2,
        reason: "field 'c' is not among the CSV output's columns (a, b)",
        row: { a: 3, c: 4 },
      },
    ]);
    expect(await readFile(part, 'utf8')).toBe('a,b\n1,2\n,5\n');
  });

  it('keeps the input column order in a CSV part when column names look like numbers', async () => {
    // Rows are plain objects, and JavaScript lists integer-like keys first, so the
    // sink orders columns by the input's header (`name,2024,2025`), not by key order.
    const text = 'name,2024,2025\nada,1,2\n';
    const { path, size } = await fixture(text);
    const part = join(dir, `part${n++}`);
    await runRangeTask({
      source: path,
      range: { start: Buffer.byteLength('name,2024,2025\n'), end: size, firstLine: 2 },
      input: CSV,
      columns: ['name', '2024', '2025'],
      transform: compileTransforms([]),
      sink: new FilePartSink(part, 'csv', ['name', '2024', '2025']),
      rejects: new MemoryRejects(),
      policy: SKIP,
    });
    expect(await readFile(part, 'utf8')).toBe('name,2024,2025\nada,1,2\n');
  });
});
