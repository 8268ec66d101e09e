/**
 * CSV records through papaparse (ADR 0005): its parser splits fields, we map
 * arrays to objects and check field counts ourselves.
 *
 * Blocks always hold whole records (the scanner cut them), so papaparse never
 * has to carry a partial row between chunks, and never re-parses one.
 */
import { Parser, type ParseError } from 'papaparse';
import { type CsvOptions, type Row } from '../model';
import { BadRecord, type BlockParser, type Outcome, terminatorLength } from './record-block';

interface RawParse {
  data: string[][];
  errors: ParseError[];
}

/**
 * Runs papaparse's parser on whole records: no type conversion, no header,
 * no guessing. The low-level Parser is used rather than Papa.parse because
 * Papa.parse strips a leading U+FEFF, which would make results depend on
 * where a block starts.
 */
export function parseCsvText(text: string, csv: CsvOptions, newline: '\n' | '\r\n'): RawParse {
  const parser = new Parser({ delimiter: csv.delimiter, quoteChar: csv.quote, newline });
  return parser.parse(text, 0, false) as RawParse;
}

/** `col1..colN`, the names of a header-less file's columns. */
export function generatedColumns(width: number): string[] {
  return Array.from({ length: width }, (_, i) => `col${i + 1}`);
}

interface Run {
  block: Buffer;
  ends: readonly number[];
  terms: Uint8Array;
  /** Records first..next-1, starting at byte `start`. */
  first: number;
  next: number;
  start: number;
  newline: '\n' | '\r\n';
}

export class CsvRecords implements BlockParser {
  /** Null until the first record of a header-less range fixes the width. */
  private columns: string[] | null;

  constructor(
    private readonly csv: CsvOptions,
    columns: string[] | null,
  ) {
    this.columns = columns;
  }

  parse(block: Buffer, ends: readonly number[], lastOpen = false): Outcome[] {
    const n = ends.length;
    const out: Outcome[] = new Array<Outcome>(n);
    // Line end of each record: 0 (none), 1 (LF) or 2 (CRLF). An open last
    // record ends inside a quoted field, so a final `\n` there is data.
    const terms = new Uint8Array(n);
    let from = 0;
    for (let i = 0; i < n; i++) {
      const to = ends[i] as number;
      if (!(lastOpen && i === n - 1)) terms[i] = terminatorLength(block, from, to);
      from = to;
    }
    // Parse runs of records with the same line end, each with that newline, so
    // papaparse handles `\r` exactly (a `\r` before a `\n` is either a line end
    // or data, depending on quoting). Normally the whole block is one run.
    let first = 0;
    let start = 0;
    while (first < n) {
      const crlf = terms[first] === 2;
      let next = first + 1;
      while (next < n && (terms[next] === 2) === crlf) next++;
      const run: Run = { block, ends, terms, first, next, start, newline: crlf ? '\r\n' : '\n' };
      if (!this.parseRun(run, out)) this.parseEach(run, out);
      start = ends[next - 1] as number;
      first = next;
    }
    return out;
  }

  /** Parses a run in one papaparse call; false if papaparse disagrees on record ends. */
  private parseRun(run: Run, out: Outcome[]): boolean {
    const { block, ends, terms, first, next, start } = run;
    const end = ends[next - 1] as number;
    const { data, errors } = parseCsvText(
      block.toString('utf8', start, end),
      this.csv,
      run.newline,
    );
    // papaparse adds an empty row after a final newline.
    if (terms[next - 1] !== 0) data.pop();
    if (data.length !== next - first) return false;
    const errorAt = errors.length > 0 ? firstErrors(errors) : undefined;
    let from = start;
    for (let i = first; i < next; i++) {
      const to = ends[i] as number;
      const blank = to - from === terms[i];
      out[i] = this.outcome(data[i - first] as string[], errorAt?.get(i - first), blank);
      from = to;
    }
    return true;
  }

  /**
   * Fallback when papaparse and the scanner disagree on record ends (never
   * seen, even in fuzzing; kept so a surprise costs speed, not correctness).
   */
  private parseEach(run: Run, out: Outcome[]): void {
    const { block, ends, terms, first, next } = run;
    let from = run.start;
    for (let i = first; i < next; i++) {
      const to = ends[i] as number;
      const { data, errors } = parseCsvText(
        block.toString('utf8', from, to),
        this.csv,
        run.newline,
      );
      if (terms[i] !== 0) data.pop();
      out[i] =
        data.length === 1
          ? this.outcome(data[0] as string[], errors[0]?.message, to - from === terms[i])
          : new BadRecord(`malformed quotes: record parses as ${data.length} records`);
      from = to;
    }
  }

  /** `blank`: the record is nothing but a line end. */
  private outcome(fields: string[], error: string | undefined, blank: boolean): Outcome {
    const width = fields.length;
    if (blank) return null; // a blank line, not a one-field record (that would be `""`)
    if (error !== undefined) return new BadRecord(error);
    const columns = (this.columns ??= generatedColumns(width));
    if (width !== columns.length) {
      return new BadRecord(
        `expected ${columns.length} fields, found ${width}`,
        partialRow(fields, columns),
      );
    }
    const row: Row = {};
    for (let j = 0; j < width; j++) row[columns[j] as string] = fields[j];
    return row;
  }
}

/** The fields that fit under a column name; the rest under `_extra`. */
function partialRow(fields: string[], columns: string[]): Row {
  const row: Row = {};
  const named = Math.min(fields.length, columns.length);
  for (let j = 0; j < named; j++) row[columns[j] as string] = fields[j];
  if (fields.length > columns.length) row['_extra'] = fields.slice(columns.length);
  return row;
}

/** The first error message papaparse reported for each row index. */
function firstErrors(errors: ParseError[]): Map<number, string> {
  const byRow = new Map<number, string>();
  for (const e of errors) {
    if (e.row !== undefined && !byRow.has(e.row)) byRow.set(e.row, e.message);
  }
  return byRow;
}
