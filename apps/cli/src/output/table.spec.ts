import { renderFields, renderTable, type Column } from './table';
import { displayWidth, oneLine, truncateToWidth } from './text-width';

interface Row {
  id: string;
  name: string;
  note: string;
}

const COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (r) => r.id, keep: true },
  { header: 'NAME', value: (r) => r.name },
  { header: 'NOTE', value: (r) => r.note },
];

const ROWS: Row[] = [
  { id: 'pl_0199a3c2-7f1e-7000-8000-000000000001', name: 'people-upper', note: 'short' },
  {
    id: 'pl_0199a3c2-7f1e-7000-8000-000000000002',
    name: 'orders-into-the-warehouse-every-night',
    note: 'a much longer note that certainly does not fit a narrow terminal',
  },
];

describe('text width', () => {
  it('counts terminal columns: wide characters two, combining marks none', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('José')).toBe(4);
    expect(displayWidth('Jose\u0301')).toBe(4);
    expect(displayWidth('東京')).toBe(4);
  });

  it('cuts to a width with an ellipsis, never splitting a wide character past it', () => {
    expect(truncateToWidth('abcdef', 6)).toBe('abcdef');
    expect(truncateToWidth('abcdef', 4)).toBe('abc…');
    expect(truncateToWidth('東京都庁', 5)).toBe('東京…');
    expect(displayWidth(truncateToWidth('東京都庁', 4))).toBeLessThanOrEqual(4);
  });

  it('shows control characters escaped, so a value stays on its line', () => {
    expect(oneLine('MANCHESTER\nUK')).toBe('MANCHESTER\\nUK');
    expect(oneLine({ a: 1 })).toBe('{"a":1}');
    expect(oneLine(null)).toBe('');
  });
});

describe('renderTable', () => {
  it('aligns columns at their natural width when there is room', () => {
    const lines = renderTable(COLUMNS, [ROWS[0]!], 200);

    expect(lines).toEqual([
      'ID                                       NAME          NOTE',
      'pl_0199a3c2-7f1e-7000-8000-000000000001  people-upper  short',
    ]);
  });

  it('fits the width by cutting the widest columns first, ids kept whole', () => {
    const lines = renderTable(COLUMNS, ROWS, 80);

    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(lines[2]).toContain('pl_0199a3c2-7f1e-7000-8000-000000000002');
    // The two long columns share what is left, each ending in an ellipsis.
    expect(lines[2]).toMatch(/ orders-into-the-\S*… +a much longer\S* \S*…$/);
    expect(lines[1]).toMatch(/ people-upper +short$/);
  });

  it('cuts even kept columns, then the lines, when nothing else is left to cut', () => {
    const lines = renderTable(COLUMNS, ROWS, 30);

    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(30);
    expect(lines[1]?.startsWith('pl_019')).toBe(true);
  });

  it('does not cut at all without a width (a pipe)', () => {
    const lines = renderTable(COLUMNS, ROWS);

    expect(lines[2]).toContain(ROWS[1]!.note);
  });

  it('aligns right-aligned columns to the right', () => {
    const lines = renderTable(
      [
        { header: 'NAME', value: (r: { n: string; v: number }) => r.n },
        { header: 'ROWS', value: (r) => r.v, align: 'right' },
      ],
      [
        { n: 'a', v: 5 },
        { n: 'b', v: 12345 },
      ],
    );

    expect(lines).toEqual(['NAME   ROWS', 'a         5', 'b     12345']);
  });
});

describe('renderFields', () => {
  it('lines labels up and cuts values to the width', () => {
    const lines = renderFields(
      [
        ['ID', 'pl_1'],
        ['Description', 'x'.repeat(100)],
      ],
      40,
    );

    expect(lines[0]).toBe('ID:           pl_1');
    expect(lines[1]).toHaveLength(40);
    expect(lines[1]?.endsWith('…')).toBe(true);
  });
});
