import { displayWidth, oneLine, padToWidth, truncateToWidth } from './text-width';

export interface Column<T> {
  header: string;
  value(row: T): unknown;
  /**
   * Cut only when nothing else is left to cut: ids, which are useless once
   * elided because users copy them into the next command.
   */
  keep?: boolean;
  align?: 'left' | 'right';
}

const GAP = '  ';
/** A cut column still shows this much, so that it can be recognised. */
const MIN_CUT_WIDTH = 6;

/**
 * Lays out rows as aligned columns without borders. When `maxWidth` is
 * given the table fits it: the widest cuttable column gives up a column at a
 * time (so short columns stay whole), cut values end with `…`; if even that
 * is not enough, `keep` columns are cut too, and last the lines themselves.
 */
export function renderTable<T>(columns: Column<T>[], rows: T[], maxWidth?: number): string[] {
  const headers = columns.map((c) => c.header);
  const cells = rows.map((row) => columns.map((c) => oneLine(c.value(row))));
  const natural = columns.map((_, i) =>
    Math.max(displayWidth(headers[i] ?? ''), ...cells.map((r) => displayWidth(r[i] ?? ''))),
  );
  const widths = maxWidth === undefined ? natural : fitWidths(columns, headers, natural, maxWidth);
  const line = (values: string[]) => {
    const text = values
      .map((value, i) => {
        const width = widths[i] ?? 0;
        const cut = truncateToWidth(value, width);
        if (columns[i]?.align === 'right') return ' '.repeat(width - displayWidth(cut)) + cut;
        return i === values.length - 1 ? cut : padToWidth(cut, width);
      })
      .join(GAP)
      .trimEnd();
    return maxWidth === undefined ? text : truncateToWidth(text, maxWidth);
  };
  return [line(headers), ...cells.map(line)];
}

function fitWidths<T>(
  columns: Column<T>[],
  headers: string[],
  natural: number[],
  maxWidth: number,
): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  const shrink = (floor: (i: number) => number) => {
    while (total() > maxWidth) {
      let widest = -1;
      widths.forEach((w, i) => {
        if (w > floor(i) && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
      });
      if (widest < 0) return;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  };
  // First the values of cuttable columns, down to their header; then their
  // headers too; then the kept columns.
  const header = (i: number) => Math.max(MIN_CUT_WIDTH, displayWidth(headers[i] ?? ''));
  shrink((i) => (columns[i]?.keep ? Infinity : header(i)));
  shrink((i) => (columns[i]?.keep ? Infinity : MIN_CUT_WIDTH));
  shrink(() => MIN_CUT_WIDTH);
  return widths;
}

/** `Label:  value` lines for one record (`get` commands), values cut to the width. */
export function renderFields(fields: [string, unknown][], maxWidth?: number): string[] {
  const labelWidth = Math.max(...fields.map(([label]) => displayWidth(label))) + 1;
  return fields.map(([label, value]) => {
    const text = `${padToWidth(`${label}:`, labelWidth)}  ${oneLine(value)}`;
    return maxWidth === undefined ? text : truncateToWidth(text, maxWidth);
  });
}
