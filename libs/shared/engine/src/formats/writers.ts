/**
 * Output text for a whole batch (the caller writes it). CSV is written as
 * RFC 4180 with `\n` line ends, quoting a field only when it must be quoted,
 * so readRange reads back exactly the strings that were written.
 */
import { type Row } from '../model';

/** One regex per delimiter, compiled once: a field needs quotes if it matches. */
const needsQuotes = new Map<string, RegExp>();

function quoteTest(delimiter: string): RegExp {
  let re = needsQuotes.get(delimiter);
  if (!re) {
    // U+FEFF too: at the start of a file, a reader would take it for a BOM.
    re = new RegExp(`["\\r\\n\\uFEFF]|${delimiter.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}`);
    needsQuotes.set(delimiter, re);
  }
  return re;
}

/** A value as CSV text: null/undefined -> empty, Date -> ISO 8601, objects -> JSON. */
export function csvValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  return JSON.stringify(value) ?? ''; // undefined for functions and symbols
}

/**
 * One CSV line, without its line end. Each field gets one test of a cached
 * regex; testing the joined line once cannot work, since it always contains
 * the delimiter (and measured no faster).
 */
export function csvLine(values: unknown[], delimiter = ','): string {
  const re = quoteTest(delimiter);
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const text = csvValue(values[i]);
    const field = re.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    line = i === 0 ? field : line + delimiter + field;
  }
  // A one-field line that is empty would read back as a blank line, which is skipped.
  return line === '' && values.length === 1 ? '""' : line;
}

/** The header line, with its `\n`. */
export function formatCsvHeader(columns: string[], delimiter = ','): string {
  return csvLine(columns, delimiter) + '\n';
}

/** One line per row, values in `columns` order; a missing key is an empty field. */
export function formatCsvRows(rows: Row[], columns: string[], delimiter = ','): string {
  const values = new Array<unknown>(columns.length);
  let out = '';
  for (const row of rows) {
    for (let j = 0; j < columns.length; j++) values[j] = row[columns[j] as string];
    out += csvLine(values, delimiter) + '\n';
  }
  return out;
}

/** One JSON object per line, each with its `\n`. */
export function formatJsonlRows(rows: Row[]): string {
  let out = '';
  for (const row of rows) out += JSON.stringify(row) + '\n';
  return out;
}
