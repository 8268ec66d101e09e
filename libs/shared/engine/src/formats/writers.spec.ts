import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CSV_OPTIONS, type InputFormat, type Row } from '../model';
import { readHeader } from './planner';
import { readRange } from './read-range';
import { csvLine, csvValue, formatCsvHeader, formatCsvRows, formatJsonlRows } from './writers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudflow-writers-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function readBack(text: string, input: InputFormat) {
  const path = join(dir, `f${Math.random().toString(36).slice(2)}`);
  await writeFile(path, text);
  const head = await readHeader(path, input);
  const range = {
    start: head.dataStart,
    end: Buffer.byteLength(text),
    firstLine: head.firstDataLine,
  };
  const rows: Row[] = [];
  for await (const batch of readRange(path, range, input, head.columns)) {
    expect(batch.malformed).toEqual([]);
    rows.push(...batch.rows);
  }
  return { columns: head.columns, rows };
}

describe('csvValue', () => {
  it('turns values into text', () => {
    expect(
      [
        null,
        undefined,
        'x',
        1.5,
        -0,
        10n,
        true,
        new Date(Date.UTC(2024, 1, 29, 12)),
        { a: [1] },
      ].map(csvValue),
    ).toEqual(['', '', 'x', '1.5', '0', '10', 'true', '2024-02-29T12:00:00.000Z', '{"a":[1]}']);
    expect(csvValue(new Date(NaN))).toBe('');
    expect(csvValue(Symbol('s'))).toBe('');
  });
});

describe('csvLine', () => {
  it('quotes only the fields that need it', () => {
    expect(csvLine(['a', 'b c', ' pad ', ''])).toBe('a,b c, pad ,');
    expect(csvLine(['a,b', 'say "hi"', 'x\ny', 'r\rn', 'ok', { k: 'v' }])).toBe(
      '"a,b","say ""hi""","x\ny","r\rn",ok,"{""k"":""v""}"',
    );
    expect(csvLine(['\ufeffid', 'n'])).toBe('"\ufeffid",n');
  });

  it('quotes the delimiter it is given, and only that one', () => {
    expect(csvLine(['a,b', 'c;d', 'e|f'], ';')).toBe('a,b;"c;d";e|f');
    expect(csvLine(['a|b', 'c'], '|')).toBe('"a|b"|c');
  });

  it('writes a lone empty field as "" so it does not read back as a blank line', () => {
    expect(csvLine([''])).toBe('""');
    expect(csvLine([null])).toBe('""');
    expect(csvLine([])).toBe('');
  });
});

describe('batch formatting', () => {
  it('formats a header and rows, missing keys as empty fields', () => {
    expect(formatCsvHeader(['id', 'na,me'])).toBe('id,"na,me"\n');
    expect(
      formatCsvRows(
        [{ id: 1, name: 'a' }, { id: 2 }, { name: 'c\nd', extra: 'ignored' }],
        ['id', 'name'],
      ),
    ).toBe('1,a\n2,\n,"c\nd"\n');
    expect(formatCsvRows([], ['id'])).toBe('');
  });

  it('formats JSON lines', () => {
    expect(formatJsonlRows([{ a: 1, b: 'x\ny' }, { d: new Date(0) }])).toBe(
      '{"a":1,"b":"x\\ny"}\n{"d":"1970-01-01T00:00:00.000Z"}\n',
    );
    expect(formatJsonlRows([])).toBe('');
  });
});

describe('round trip through readRange', () => {
  it('reads back exactly what the CSV writers wrote', async () => {
    const columns = ['\ufeffid', 'text', 'na,me', 'q"uote'];
    const values = [
      'plain',
      '',
      ' lead and trail ',
      'a,b',
      '"quoted"',
      'say ""twice""',
      'two\nlines',
      'crlf\r\ninside',
      'trailing cr\r',
      '\r',
      '\u00a0nbsp\u00a0',
      'ünïcødé ✓',
    ];
    const rows: Row[] = values.map((v, i) => ({
      '\ufeffid': String(i),
      text: v,
      'na,me': values[(i + 3) % values.length],
      'q"uote': values[(i + 7) % values.length],
    }));
    const text = formatCsvHeader(columns) + formatCsvRows(rows, columns);
    expect(await readBack(text, { format: 'csv', csv: DEFAULT_CSV_OPTIONS })).toEqual({
      columns,
      rows,
    });
  });

  it('keeps empty values of a one-column file', async () => {
    const rows: Row[] = [{ v: '' }, { v: 'x' }, { v: null }];
    const text = formatCsvHeader(['v']) + formatCsvRows(rows, ['v']);
    expect(text).toBe('v\n""\nx\n""\n');
    expect(await readBack(text, { format: 'csv', csv: DEFAULT_CSV_OPTIONS })).toEqual({
      columns: ['v'],
      rows: [{ v: '' }, { v: 'x' }, { v: '' }],
    });
  });

  it('reads back exactly what the JSONL writer wrote', async () => {
    const rows: Row[] = [{ a: 1, s: 'line\r\nbreak', n: null, o: { deep: [true] } }, {}];
    const text = formatJsonlRows(rows);
    expect(await readBack(text, { format: 'jsonl', csv: DEFAULT_CSV_OPTIONS })).toEqual({
      columns: null,
      rows,
    });
  });
});
