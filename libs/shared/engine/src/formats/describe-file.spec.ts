import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CSV_OPTIONS } from '../model';
import { describeFile, inferType } from './describe-file';

const csv = { format: 'csv' as const, csv: DEFAULT_CSV_OPTIONS };

function file(content: string): { path: string; size: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'describe-')), 'data.csv');
  writeFileSync(path, content);
  return { path, size: Buffer.byteLength(content) };
}

describe('describeFile', () => {
  it('names the header, infers each column type and counts a small file exactly', async () => {
    const { path, size } = file(
      'id,name,amount,active,joined,seen\n1,Ada,120.50,true,2024-01-02,2024-01-02T10:00:00Z\n2,"Hopper, Grace",98,false,2024-02-03,\n',
    );
    expect(await describeFile(path, size, csv)).toEqual({
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'string' },
        { name: 'amount', type: 'number' },
        { name: 'active', type: 'boolean' },
        { name: 'joined', type: 'date' },
        { name: 'seen', type: 'datetime' },
      ],
      rowEstimate: 2,
      exact: true,
    });
  });

  it('estimates the rows of a large file from a sample, within a few percent', async () => {
    const rows = Array.from(
      { length: 20_000 },
      (_, i) => `${String(i).padStart(5, '0')},name-${i % 7},${(i % 100) + 0.25}`,
    );
    const { path, size } = file(`id,name,amount\n${rows.join('\n')}\n`);
    const described = await describeFile(path, size, csv);
    expect(described.exact).toBe(false);
    expect(Math.abs(described.rowEstimate - 20_000) / 20_000).toBeLessThan(0.1);
    expect(described.columns.map((c) => c.type)).toEqual(['integer', 'string', 'number']);
  });

  it('describes JSON Lines by the fields it finds', async () => {
    const { path, size } = file(
      '{"id":1,"tags":["a"],"ok":true}\n{"id":2,"ok":false,"note":"x"}\n',
    );
    const described = await describeFile(path, size, { format: 'jsonl', csv: DEFAULT_CSV_OPTIONS });
    expect(described.columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'tags', type: 'string' },
      { name: 'ok', type: 'boolean' },
      { name: 'note', type: 'string' },
    ]);
    expect(described.rowEstimate).toBe(2);
  });
});

describe('inferType', () => {
  it.each([
    [['1', '-2', '+3'], 'integer'],
    [['1', '2.5', '1e3'], 'number'],
    [['TRUE', 'false'], 'boolean'],
    [['2024-02-29', ''], 'date'],
    [['2024-02-30'], 'string'],
    [['1', 'x'], 'string'],
    [['', null, undefined], 'empty'],
    [[12345678901234567890n.toString()], 'number'],
  ] as const)('reads %j as %s', (values, type) => {
    expect(inferType([...values])).toBe(type);
  });
});
