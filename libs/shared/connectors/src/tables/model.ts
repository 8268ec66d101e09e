import type { NetworkPolicy } from '../network-policy';

/**
 * The shapes a pipeline's database source and sink speak. They are declared
 * here, not imported from the engine (this library sits below it), and kept
 * structurally equal to the engine's `Row`, `RecordBatch` and `RowSink`.
 */

/** One row as plain JSON values: what every transform and sink receives. */
export type Row = Record<string, unknown>;

export type TableDriver = 'postgres' | 'mysql' | 'mongodb';

/** Which table (PostgreSQL `schema.table` or `table`; MySQL `table` in the connection's database) or MongoDB collection. */
export interface TableSpec {
  driver: TableDriver;
  table: string;
  /** The column that orders the table and splits it into tasks; by default its primary key (`_id` for MongoDB). */
  splitKey?: string | null;
}

/** A spec whose split key `inspectTable` has settled: `null` reads the table as one task. */
export type ResolvedTableSpec = TableSpec & { splitKey: string | null };

/** A task's share of a table: rows whose split key is > after and <= upTo, in key order. */
export interface KeyRange {
  /**
   * JSON values: for PostgreSQL and MySQL the key as the server writes it
   * (text), for MongoDB canonical Extended JSON. null = from the first row.
   */
  after: unknown;
  /** Inclusive; null = to the end (only for a table read as one unsplit task). */
  upTo: unknown;
  /** 1-based row number of the range's first row in the whole ordered scan. */
  firstLine: number;
  /** Rows in the range when it was planned. */
  rows: number;
}

export interface TableAccess {
  policy: NetworkPolicy;
  /** Connecting, catalog lookups and waits for a lock are bounded by this. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * One statement of a task's read or write (a sort, a large insert) is
   * bounded by this; longer than `timeoutMs` because it does real work.
   * Default: DEFAULT_STATEMENT_TIMEOUT_MS.
   */
  statementTimeoutMs?: number;
}

/** A batch of rows read from a range; the same shape as the engine's RecordBatch. */
export interface TableBatch {
  rows: Row[];
  /** `lines[i]` is the 1-based row number of `rows[i]` in the whole ordered scan. */
  lines: number[];
  /** Always empty: a table has no unparseable records. */
  malformed: never[];
  /** About the size of the batch as JSON, for progress. */
  bytes: number;
}

/** What a table looks like when a job is submitted. */
export interface TableShape {
  columns: string[];
  splitKey: string | null;
  rowEstimate: number | null;
}

/** Where a task's rows go; the same shape as the engine's RowSink. */
export interface TableRowSink {
  write(rows: Row[], lines: number[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TableSinkOptions extends TableAccess {
  jobId: string;
  taskId: string;
  /**
   * A sink's session is closed by the server after this long without a
   * statement, so a frozen worker cannot hold its transaction (and the
   * locks in it) forever. Default: DEFAULT_IDLE_TIMEOUT_MS.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_STATEMENT_TIMEOUT_MS = 10 * 60_000;
/**
 * Short on purpose: a newer attempt of the task may be waiting for the locks
 * a frozen one holds, and it gives up after its own lock timeout; the frozen
 * one must be gone within a few of those retries, not after minutes.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export function statementTimeoutOf(access: TableAccess): number {
  return Math.max(access.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS, access.timeoutMs);
}

export function idleTimeoutOf(options: TableSinkOptions): number {
  return options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
}
