import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_CSV_OPTIONS,
  type ByteRange,
  type InputFormat,
  type Rejection,
  type Row,
} from '../model';
import { planRanges, readHeader } from './planner';
import { readRange } from './read-range';

let dir: string;
let fileCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudflow-planner-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fixture(content: string | Buffer): Promise<string> {
  const path = join(dir, `f${fileCount++}`);
  await writeFile(path, content);
  return path;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const csv = (over: Partial<InputFormat['csv']> = {}): InputFormat => ({
  format: 'csv',
  csv: { ...DEFAULT_CSV_OPTIONS, ...over },
});

interface Read {
  rows: Row[];
  lines: number[];
  malformed: Rejection[];
  bytes: number;
}

async function read(
  path: string,
  range: ByteRange,
  input: InputFormat,
  columns: string[] | null,
  batchRows?: number,
): Promise<Read> {
  const out: Read = { rows: [], lines: [], malformed: [], bytes: 0 };
  for await (const batch of readRange(path, range, input, columns, { batchRows })) {
    out.rows.push(...batch.rows);
    out.lines.push(...batch.lines);
    out.malformed.push(...batch.malformed);
    out.bytes += batch.bytes;
  }
  return out;
}

describe('readHeader', () => {
  it('parses quoted names with embedded newlines after a BOM', async () => {
    const path = await fixture('\ufeffid,"full\r\nname","say ""hi"""\r\n1,a,b\r\n');
    expect(await readHeader(path, csv())).toEqual({
      columns: ['id', 'full\r\nname', 'say "hi"'],
      dataStart: 33,
      firstDataLine: 3,
    });
  });

  it('keeps names exactly, spaces included', async () => {
    const path = await fixture(" a ;'b;c'\n1;2\n");
    expect(await readHeader(path, csv({ delimiter: ';', quote: "'" }))).toEqual({
      columns: [' a ', 'b;c'],
      dataStart: 10,
      firstDataLine: 2,
    });
  });

  it('reads a header longer than the first read', async () => {
    const long = 'n'.repeat(100_000);
    const path = await fixture(`a,${long}\n1,2\n`);
    expect(await readHeader(path, csv())).toEqual({
      columns: ['a', long],
      dataStart: 100_003,
      firstDataLine: 2,
    });
  });

  it('accepts a header-only file, with or without a newline', async () => {
    expect(await readHeader(await fixture('a,b'), csv())).toEqual({
      columns: ['a', 'b'],
      dataStart: 3,
      firstDataLine: 1,
    });
    const path = await fixture('a,b\n');
    expect(await readHeader(path, csv())).toEqual({
      columns: ['a', 'b'],
      dataStart: 4,
      firstDataLine: 2,
    });
    const plan = planRanges(path, csv(), { targetBytes: 10, dataStart: 4, firstDataLine: 2 });
    expect(await collect(plan)).toEqual([]);
  });

  it('returns no columns for header-less CSV and JSONL, skipping only a BOM', async () => {
    const path = await fixture('\ufeff{"a":1}\n');
    expect(await readHeader(path, { format: 'jsonl', csv: DEFAULT_CSV_OPTIONS })).toEqual({
      columns: null,
      dataStart: 3,
      firstDataLine: 1,
    });
    expect(await readHeader(await fixture('x,y\n'), csv({ header: false }))).toEqual({
      columns: null,
      dataStart: 0,
      firstDataLine: 1,
    });
  });

  it('refuses an empty file, empty and duplicate names, and a runaway header', async () => {
    const empty = await fixture('');
    await expect(readHeader(empty, csv())).rejects.toThrow(
      `${empty} is empty: expected a CSV header`,
    );
    const blank = await fixture('a,,c\n');
    await expect(readHeader(blank, csv())).rejects.toThrow(
      `${blank}: CSV header has an empty column name (column 2)`,
    );
    const dup = await fixture('id,name,id\n');
    await expect(readHeader(dup, csv())).rejects.toThrow(
      `${dup}: CSV header has duplicate column name "id" (columns 1 and 3)`,
    );
    const proto = await fixture('a,__proto__\n');
    await expect(readHeader(proto, csv())).rejects.toThrow(
      `${proto}: CSV header has a reserved column name "__proto__" (column 2)`,
    );
    const long = await fixture(`a,"${'x'.repeat(1024 * 1024 + 10)}\n`);
    await expect(readHeader(long, csv())).rejects.toThrow(
      `${long}: header record is longer than 1048576 bytes`,
    );
    const open = await fixture('a,"b\n');
    await expect(readHeader(open, csv())).rejects.toThrow(
      `${open}: invalid CSV header: Quoted field unterminated`,
    );
  });
});

interface Variant {
  name: string;
  input: InputFormat;
  crlf: boolean;
  bom: boolean;
  trailingNewline: boolean;
  blankLines: boolean;
  rows: number;
  targets: number[];
}

/** A CSV file with every quoting hazard, and the rows and lines a reader must find. */
function generate(v: Variant, seed: number) {
  const random = prng(seed);
  const { delimiter: d, quote: q, header } = v.input.csv;
  const eol = v.crlf ? '\r\n' : '\n';
  const values = [
    'plain',
    '',
    ' spaced ',
    `has${d}delim`,
    `say ${q}hi${q} ${q}${q}`,
    'two\nlines',
    'crlf\r\ninside',
    'ünïcødé ✓',
    q,
    `${q}${d}${q}`,
    '5\'10"',
  ];
  const field = (value: string): string =>
    /[\r\n]/.test(value) || value.includes(d) || value.includes(q) || random() < 0.2
      ? q + value.split(q).join(q + q) + q
      : value;
  const columns = header ? ['id', `na${d}me`, 'multi\nline', 'note'] : null;
  const names = columns ?? ['col1', 'col2', 'col3', 'col4'];
  let text = v.bom ? '\ufeff' : '';
  if (columns) text += columns.map(field).join(d) + eol;
  const expected: { row: Row; line: number }[] = [];
  let line = 1 + text.split('\n').length - 1;
  const add = (s: string) => {
    text += s;
    line += s.split('\n').length - 1;
  };
  for (let i = 0; i < v.rows; i++) {
    if (v.blankLines && random() < 0.1) add(eol);
    const cells = [
      String(i),
      ...[1, 2, 3].map(() => values[Math.floor(random() * values.length)]!),
    ];
    expected.push({ row: Object.fromEntries(names.map((n, j) => [n, cells[j]])), line });
    add(cells.map(field).join(d));
    if (i < v.rows - 1 || v.trailingNewline) add(eol);
  }
  return { text, expected, columns };
}

const variants: Variant[] = [
  {
    name: 'default dialect, LF',
    input: csv(),
    crlf: false,
    bom: false,
    trailingNewline: true,
    blankLines: false,
    rows: 60,
    targets: [7, 64, 700, 1e9],
  },
  {
    name: 'CRLF, BOM, blank lines, no trailing newline',
    input: csv(),
    crlf: true,
    bom: true,
    trailingNewline: false,
    blankLines: true,
    rows: 60,
    targets: [7, 64, 700, 1e9],
  },
  {
    name: "delimiter ';', quote \"'\", no header",
    input: csv({ delimiter: ';', quote: "'", header: false }),
    crlf: false,
    bom: false,
    trailingNewline: false,
    blankLines: true,
    rows: 60,
    targets: [7, 64, 700, 1e9],
  },
  {
    name: 'tab delimiter, CRLF, no header, BOM',
    input: csv({ delimiter: '\t', header: false }),
    crlf: true,
    bom: true,
    trailingNewline: true,
    blankLines: true,
    rows: 60,
    targets: [7, 64, 700, 1e9],
  },
  {
    name: 'several read chunks (1 MB)',
    input: csv(),
    crlf: false,
    bom: false,
    trailingNewline: true,
    blankLines: true,
    rows: 20000,
    targets: [50_000, 300_000, 1e9],
  },
];

describe.each(variants)('planRanges + readRange: $name', (variant) => {
  it.each(variant.targets)(
    'targetBytes %d: ranges tile the data and read back the same rows and lines',
    async (targetBytes) => {
      const { text, expected, columns } = generate(variant, targetBytes + variant.rows);
      const buf = Buffer.from(text);
      const path = await fixture(buf);
      const head = await readHeader(path, variant.input);
      expect(head.columns).toEqual(columns);

      const ranges = await collect(planRanges(path, variant.input, { targetBytes, ...head }));
      let at = head.dataStart;
      for (const range of ranges) {
        expect(range.start).toBe(at);
        expect(range.end).toBeGreaterThan(range.start);
        expect(range.firstLine).toBe(
          1 + buf.subarray(0, range.start).toString().split('\n').length - 1,
        );
        at = range.end;
      }
      expect(at).toBe(buf.length);
      if (targetBytes === 1e9) expect(ranges.length).toBe(1);

      const whole = await read(
        path,
        { start: head.dataStart, end: buf.length, firstLine: head.firstDataLine },
        variant.input,
        head.columns,
      );
      expect(whole.malformed).toEqual([]);
      expect(whole.rows).toEqual(expected.map((e) => e.row));
      expect(whole.lines).toEqual(expected.map((e) => e.line));
      expect(whole.bytes).toBe(buf.length - head.dataStart);

      const parts = await Promise.all(
        ranges.map((r) => read(path, r, variant.input, head.columns, 5)),
      );
      parts.forEach((part, i) => expect(part.bytes).toBe(ranges[i]!.end - ranges[i]!.start));
      expect(parts.flatMap((p) => p.rows)).toEqual(whole.rows);
      expect(parts.flatMap((p) => p.lines)).toEqual(whole.lines);
    },
  );
});

describe('planRanges on malformed CSV', () => {
  it('splits random garbage only where papaparse ends records', async () => {
    const random = prng(7);
    const alphabet = ['a', ',', ',', '"', '"', '\n', '\n', '\r', ' ', '\u00a0'];
    const input = csv({ header: false });
    const columns = ['col1', 'col2', 'col3'];
    for (let n = 0; n < 60; n++) {
      let text = '';
      for (let i = 0; i < 200; i++) text += alphabet[Math.floor(random() * alphabet.length)];
      const path = await fixture(text);
      const size = Buffer.byteLength(text);
      const whole = await read(path, { start: 0, end: size, firstLine: 1 }, input, columns);
      for (const targetBytes of [1, 9, 40]) {
        const plan = planRanges(path, input, { targetBytes, dataStart: 0, firstDataLine: 1 });
        const parts = await Promise.all(
          (await collect(plan)).map((r) => read(path, r, input, columns)),
        );
        expect({ text, targetBytes, rows: parts.flatMap((p) => p.rows) }).toEqual({
          text,
          targetBytes,
          rows: whole.rows,
        });
        expect(parts.flatMap((p) => p.lines)).toEqual(whole.lines);
        expect(parts.flatMap((p) => p.malformed)).toEqual(whole.malformed);
      }
    }
  });

  it('keeps a stray quote in an unquoted field from hiding later split points', async () => {
    const text = 'h\n5\'10",x\n"a\nb",c\nd,e\n';
    const path = await fixture(text);
    const head = await readHeader(path, csv());
    const plan = planRanges(path, csv(), { targetBytes: 1, ...head });
    expect(await collect(plan)).toEqual([
      { start: 2, end: 10, firstLine: 2 },
      { start: 10, end: 18, firstLine: 3 },
      { start: 18, end: 22, firstLine: 5 },
    ]);
  });

  it('plans JSONL on every newline and yields nothing for empty data', async () => {
    const jsonl: InputFormat = { format: 'jsonl', csv: DEFAULT_CSV_OPTIONS };
    const path = await fixture('{"a":1}\n{"a":"\\n"}\r\n\n{"a":3}');
    const plan = planRanges(path, jsonl, { targetBytes: 2, dataStart: 0, firstDataLine: 1 });
    expect(await collect(plan)).toEqual([
      { start: 0, end: 8, firstLine: 1 },
      { start: 8, end: 20, firstLine: 2 },
      // The blank line (1 byte) is short of targetBytes, so it joins the last line.
      { start: 20, end: 28, firstLine: 3 },
    ]);
    const empty = await fixture('');
    const none = planRanges(empty, jsonl, { targetBytes: 2, dataStart: 0, firstDataLine: 1 });
    expect(await collect(none)).toEqual([]);
  });

  it('stops when aborted', async () => {
    const path = await fixture('a\n'.repeat(400_000));
    const controller = new AbortController();
    const plan = planRanges(path, csv({ header: false }), {
      targetBytes: 10,
      dataStart: 0,
      firstDataLine: 1,
      signal: controller.signal,
    });
    expect((await plan.next()).value).toEqual({ start: 0, end: 10, firstLine: 1 });
    controller.abort(new Error('job cancelled'));
    await expect(plan.next()).rejects.toThrow('job cancelled');
    expect(await plan.next()).toEqual({ done: true, value: undefined });
  });
});
