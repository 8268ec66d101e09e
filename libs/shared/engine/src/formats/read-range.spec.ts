import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_CSV_OPTIONS,
  type ByteRange,
  type InputFormat,
  type RecordBatch,
  type Rejection,
  type Row,
} from '../model';
import { planRanges, readHeader } from './planner';
import { readRange, type ReadRangeOptions } from './read-range';

let dir: string;
let fileCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudflow-read-range-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fixture(content: string | Buffer): Promise<string> {
  const path = join(dir, `f${fileCount++}`);
  await writeFile(path, content);
  return path;
}

async function batches(
  path: string,
  range: ByteRange,
  input: InputFormat,
  columns: string[] | null,
  options?: ReadRangeOptions,
): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const batch of readRange(path, range, input, columns, options)) out.push(batch);
  return out;
}

/** Reads the whole data, then again range by range (1-byte target), and checks both agree. */
async function readBothWays(path: string, input: InputFormat) {
  const head = await readHeader(path, input);
  const whole = {
    start: head.dataStart,
    end: Number.MAX_SAFE_INTEGER,
    firstLine: head.firstDataLine,
  };
  const flat = (bs: RecordBatch[]) => ({
    rows: bs.flatMap((b) => b.rows),
    lines: bs.flatMap((b) => b.lines),
    malformed: bs.flatMap((b) => b.malformed),
  });
  const all = flat(await batches(path, whole, input, head.columns));
  const ranged: RecordBatch[] = [];
  for await (const range of planRanges(path, input, { targetBytes: 1, ...head })) {
    ranged.push(...(await batches(path, range, input, head.columns)));
  }
  expect(flat(ranged)).toEqual(all);
  return all;
}

const csv = (over: Partial<InputFormat['csv']> = {}): InputFormat => ({
  format: 'csv',
  csv: { ...DEFAULT_CSV_OPTIONS, ...over },
});
const jsonl: InputFormat = { format: 'jsonl', csv: DEFAULT_CSV_OPTIONS };

describe('readRange (CSV)', () => {
  it('rejects malformed records with their line and keeps later rows aligned', async () => {
    const path = await fixture(
      [
        'id,name,amount',
        '1,a,10',
        '2,b',
        '3,c,30,x',
        '4,"d ""q""\nz",40',
        '',
        '5,5\'10",50',
        '6,"h"x,60\n7,"i",70',
        '8,j,80',
        '9,"unterminated,90\n10,k,100\n',
      ].join('\n'),
    );
    const read = await readBothWays(path, csv());
    expect(read.rows).toEqual([
      { id: '1', name: 'a', amount: '10' },
      { id: '4', name: 'd "q"\nz', amount: '40' },
      { id: '5', name: '5\'10"', amount: '50' },
      { id: '8', name: 'j', amount: '80' },
    ]);
    expect(read.lines).toEqual([2, 5, 8, 11]);
    const malformed: Rejection[] = [
      { line: 3, reason: 'expected 3 fields, found 2', row: { id: '2', name: 'b' } },
      {
        line: 4,
        reason: 'expected 3 fields, found 4',
        row: { id: '3', name: 'c', amount: '30', _extra: ['x'] },
      },
      { line: 9, reason: 'Trailing quote on quoted field is malformed' },
      { line: 12, reason: 'Quoted field unterminated' },
    ];
    expect(read.malformed).toEqual(malformed);
  });

  it('names header-less columns col1..colN from the first record, after a BOM', async () => {
    const path = await fixture('\ufeff\n"x",y,z\r\n1,2\r\n');
    const read = await batches(
      path,
      { start: 0, end: 18, firstLine: 1 },
      csv({ header: false }),
      null,
    );
    expect(read).toEqual([
      {
        rows: [{ col1: 'x', col2: 'y', col3: 'z' }],
        lines: [2],
        malformed: [
          { line: 3, reason: 'expected 3 fields, found 2', row: { col1: '1', col2: '2' } },
        ],
        bytes: 18,
      },
    ]);
  });

  it('cuts batches of batchRows records, each with the bytes it consumed', async () => {
    const path = await fixture('a,b\n1,2\n3,4\n\n5,6\n7,8');
    const read = await batches(path, { start: 4, end: 20, firstLine: 2 }, csv(), ['a', 'b'], {
      batchRows: 2,
    });
    expect(read).toEqual([
      {
        rows: [
          { a: '1', b: '2' },
          { a: '3', b: '4' },
        ],
        lines: [2, 3],
        malformed: [],
        bytes: 8,
      },
      {
        rows: [
          { a: '5', b: '6' },
          { a: '7', b: '8' },
        ],
        lines: [5, 6],
        malformed: [],
        bytes: 8,
      },
    ]);
    const blankTail = await fixture('1,2\n\r\n\n');
    expect(
      await batches(blankTail, { start: 0, end: 7, firstLine: 1 }, csv(), ['a', 'b'], {
        batchRows: 1,
      }),
    ).toEqual([
      { rows: [{ a: '1', b: '2' }], lines: [1], malformed: [], bytes: 4 },
      { rows: [], lines: [], malformed: [], bytes: 3 },
    ]);
  });

  it('reads to the end of the file when the range ends past it', async () => {
    const path = await fixture('1,2\n3,4');
    const read = await batches(
      path,
      { start: 0, end: Number.MAX_SAFE_INTEGER, firstLine: 1 },
      csv({ header: false }),
      null,
    );
    expect(read).toEqual([
      {
        rows: [
          { col1: '1', col2: '2' },
          { col1: '3', col2: '4' },
        ],
        lines: [1, 2],
        malformed: [],
        bytes: 7,
      },
    ]);
  });

  it('rejects and skips a record longer than maxRecordBytes, across read chunks', async () => {
    const huge = `2,"${'x'.repeat(300_000)}"`;
    const path = await fixture(`1,a\n${huge}\n3,c\n4,"${'y'.repeat(200_000)}`);
    const read = await batches(
      path,
      { start: 0, end: Number.MAX_SAFE_INTEGER, firstLine: 1 },
      csv({ header: false }),
      ['n', 'v'],
      { maxRecordBytes: 100_000 },
    );
    const reason = 'record longer than 100000 bytes (unterminated quote?)';
    expect(read.flatMap((b) => b.rows)).toEqual([
      { n: '1', v: 'a' },
      { n: '3', v: 'c' },
    ]);
    expect(read.flatMap((b) => b.lines)).toEqual([1, 3]);
    expect(read.flatMap((b) => b.malformed)).toEqual([
      { line: 2, reason },
      { line: 4, reason },
    ]);
    expect(read.reduce((sum, b) => sum + b.bytes, 0)).toBe(4 + huge.length + 1 + 4 + 200_003);

    // The limit applies to each record exactly, not to how chunks happen to fall.
    const small = await fixture('1,a\n2,"abcdefghij"\n3,c\n');
    const range = { start: 0, end: 23, firstLine: 1 };
    expect(
      await batches(small, range, csv({ header: false }), ['n', 'v'], { maxRecordBytes: 10 }),
    ).toEqual([
      {
        rows: [
          { n: '1', v: 'a' },
          { n: '3', v: 'c' },
        ],
        lines: [1, 3],
        malformed: [{ line: 2, reason: 'record longer than 10 bytes (unterminated quote?)' }],
        bytes: 23,
      },
    ]);
  });

  it('refuses bad options and dialects', async () => {
    const path = await fixture('a\n');
    const range = { start: 0, end: 2, firstLine: 1 };
    await expect(batches(path, range, csv(), ['a'], { batchRows: 0 })).rejects.toThrow(
      'batchRows must be a positive integer, got 0',
    );
    await expect(batches(path, range, csv({ delimiter: '"', quote: "'" }), ['a'])).rejects.toThrow(
      `CSV delimiter "\\"" cannot be the quote character or '"'`,
    );
    await expect(batches(path, range, csv({ delimiter: '::' }), ['a'])).rejects.toThrow(
      'CSV delimiter must be one ASCII character other than CR/LF, got "::"',
    );
  });
});

describe('readRange (JSONL)', () => {
  it('parses objects and rejects invalid lines and non-objects', async () => {
    const path = await fixture(
      '\ufeff{"a":1,"b":"x"}\n{"a":2}\r\n\n  \n{"a":\n[1,2]\n42\nnull\n"s"\n{"nested":{"k":[1]}}',
    );
    const read = await readBothWays(path, jsonl);
    const rows: Row[] = [{ a: 1, b: 'x' }, { a: 2 }, { nested: { k: [1] } }];
    expect(read.rows).toEqual(rows);
    expect(read.lines).toEqual([1, 2, 10]);
    let message = '';
    try {
      JSON.parse('{"a":');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(read.malformed).toEqual([
      { line: 5, reason: `invalid JSON: ${message}` },
      { line: 6, reason: 'expected a JSON object, found array' },
      { line: 7, reason: 'expected a JSON object, found number' },
      { line: 8, reason: 'expected a JSON object, found null' },
      { line: 9, reason: 'expected a JSON object, found string' },
    ]);
  });

  it('counts every input byte, including the BOM, in the batches', async () => {
    const text = '\ufeff{"a":1}\r\n{"a":2}\n';
    const path = await fixture(text);
    const read = await batches(path, { start: 0, end: 20, firstLine: 1 }, jsonl, null, {
      batchRows: 1,
    });
    expect(read).toEqual([
      { rows: [{ a: 1 }], lines: [1], malformed: [], bytes: 12 },
      { rows: [{ a: 2 }], lines: [2], malformed: [], bytes: 8 },
    ]);
  });
});

describe('readRange abort', () => {
  it('throws the abort reason before reading and between batches', async () => {
    const path = await fixture('1,2\n'.repeat(300_000));
    const range = { start: 0, end: 1_200_000, firstLine: 1 };
    const input = csv({ header: false });

    const early = new AbortController();
    early.abort(new Error('cancelled early'));
    await expect(batches(path, range, input, null, { signal: early.signal })).rejects.toThrow(
      'cancelled early',
    );

    const controller = new AbortController();
    const reader = readRange(path, range, input, null, {
      batchRows: 10,
      signal: controller.signal,
    });
    const first = await reader.next();
    expect(first.value).toEqual({
      rows: Array.from({ length: 10 }, () => ({ col1: '1', col2: '2' })),
      lines: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      malformed: [],
      bytes: 40,
    });
    controller.abort(new Error('job cancelled'));
    await expect(reader.next()).rejects.toThrow('job cancelled');
    expect(await reader.next()).toEqual({ done: true, value: undefined });
  });
});
