/**
 * The engine's vocabulary: rows, the byte ranges a task reads, and what a
 * reader or transform says about a record it cannot accept.
 */

/** One record as transforms see it: field name -> value. */
export type Row = Record<string, unknown>;

export const FORMATS = ['csv', 'jsonl'] as const;
export type Format = (typeof FORMATS)[number];

export interface CsvOptions {
  /** One character; default `,`. */
  delimiter: string;
  /** One character; default `"`. Doubled inside a quoted field to stand for itself. */
  quote: string;
  /** Whether the first record names the columns; default true. */
  header: boolean;
}

export const DEFAULT_CSV_OPTIONS: CsvOptions = { delimiter: ',', quote: '"', header: true };

/** How a file is read: its format and, for CSV, the dialect. */
export interface InputFormat {
  format: Format;
  csv: CsvOptions;
}

/**
 * A byte range of a file that starts and ends on record boundaries, so any
 * worker can read it without looking outside it.
 */
export interface ByteRange {
  /** First byte of the first record (inclusive). */
  start: number;
  /** One past the last byte of the last record (exclusive). */
  end: number;
  /** 1-based line number, in the whole file, of the line that starts at `start`. */
  firstLine: number;
}

/** A record the reader could not turn into a row, or a row a transform refused. */
export interface Rejection {
  /** 1-based line number in the input file where the record starts. */
  line: number;
  reason: string;
  /** The row as far as it was understood, when there was one. */
  row?: Row;
}

/** Returned by a transform that refuses a row; the engine records it as rejected. */
export class RowRejected {
  constructor(readonly reason: string) {}
}

/**
 * A compiled chain of transforms applied to one row: the (possibly new) row,
 * `null` when a filter dropped it, or a RowRejected with the reason.
 */
export type RowTransform = (row: Row) => Row | null | RowRejected;

/** A batch of records read from a range, in input order. */
export interface RecordBatch {
  rows: Row[];
  /** `lines[i]` is the 1-based input line where `rows[i]` starts. */
  lines: number[];
  /** Records in this stretch of input that could not be parsed. */
  malformed: Rejection[];
  /** Input bytes consumed to produce this batch. */
  bytes: number;
}
