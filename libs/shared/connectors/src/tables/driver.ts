import type { ConnectionConfig } from '../connection-string';
import type { KeyRange, ResolvedTableSpec, Row, TableAccess, TableShape, TableSpec } from './model';

/**
 * What planning needs from a database: positions in the split key's order,
 * over one session (and one snapshot, where the server has them). Keys are
 * the JSON form a KeyRange carries.
 */
export interface KeyIndex {
  /** No two rows share a key: a boundary found by position then needs no count. */
  readonly unique: boolean;
  /** The greatest key, or undefined for an empty table. */
  lastKey(): Promise<unknown>;
  /** The key of the `position`-th row (1-based) with a key in (after, upTo], or undefined if there are fewer. */
  keyAt(after: unknown, upTo: unknown, position: number): Promise<unknown>;
  /** Rows with a key in (after, upTo]. */
  count(after: unknown, upTo: unknown): Promise<number>;
  /** Rows in the table. */
  countAll(): Promise<number>;
  close(): Promise<void>;
}

/** One database's way of inspecting, planning and reading a table. */
export interface TableDriverImpl {
  inspect(config: ConnectionConfig, spec: TableSpec, access: TableAccess): Promise<TableShape>;
  openKeyIndex(
    config: ConnectionConfig,
    spec: ResolvedTableSpec,
    access: TableAccess,
  ): Promise<KeyIndex>;
  /** The range's rows in key order (ties, and tables without a key, by all columns), as plain values, in batches of at most `batchRows`. */
  readRows(
    config: ConnectionConfig,
    spec: ResolvedTableSpec,
    range: KeyRange,
    access: TableAccess,
    batchRows: number,
  ): AsyncGenerator<Row[]>;
}

/** `WHERE key > after AND key <= upTo`, either bound left out when null; `param` registers a value and returns its SQL. */
export function keyRangeWhere(
  key: string,
  after: unknown,
  upTo: unknown,
  param: (value: unknown) => string,
): string {
  const conditions: string[] = [];
  if (after !== null && after !== undefined) conditions.push(`${key} > ${param(after)}`);
  if (upTo !== null && upTo !== undefined) conditions.push(`${key} <= ${param(upTo)}`);
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}
