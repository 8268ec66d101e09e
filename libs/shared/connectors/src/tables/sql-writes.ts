import type { Row } from './model';

/**
 * The SQL a table sink sends, built from rows without touching a server:
 * column types inferred for a new table, and multi-row INSERTs that stay
 * within the server's limits on parameters and statement size. Values are
 * always parameters; names are quoted by the dialect.
 */

/**
 * Every number is one kind, whether the first batch held only whole numbers
 * or not: a column is created once, from one task's first batch, and must
 * hold the fractions and large values of every later batch and task too.
 */
export type ColumnKind = 'text' | 'number' | 'boolean' | 'json';

export interface InferredColumn {
  name: string;
  kind: ColumnKind;
}

/** What a dialect decides: quoting, placeholders, types and limits. */
export interface SqlDialect {
  quoteId(name: string): string;
  /** The placeholder of the `index`-th (1-based) parameter of a statement. */
  placeholder(index: number): string;
  columnType(kind: ColumnKind): string;
  /** Rows that fill no column: inserts `count` rows of defaults. */
  insertDefaults(table: string, count: number): string;
  /** At most this many parameters in one statement. */
  maxParameters: number;
}

/** A column of the target table, as values must be shaped for it. */
export interface TargetColumn {
  name: string;
  /** json/jsonb: every value is sent as JSON text. */
  json?: boolean;
  /** A PostgreSQL array: a JS array is sent as an array, not JSON. */
  array?: boolean;
}

/** A column an INSERT fills, and the row field that fills it (MySQL matches names case-insensitively). */
export interface InsertColumn extends TargetColumn {
  field: string;
}

export interface SqlStatement {
  sql: string;
  values: unknown[];
}

/** The kind of one value, or null for null (which fits any column). */
export function kindOfValue(value: unknown): ColumnKind | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'object':
      return 'json';
    default:
      return 'text';
  }
}

/** A mix of kinds is kept as text. */
function mergeKinds(a: ColumnKind | null, b: ColumnKind | null): ColumnKind | null {
  if (a === null) return b;
  if (b === null || a === b) return a;
  return 'text';
}

/**
 * The columns of a new table made for `rows`: every field, in the order
 * fields first appear, typed by all of the batch's values (a field that is
 * always null becomes text).
 */
export function inferColumns(rows: Row[]): InferredColumn[] {
  const kinds = new Map<string, ColumnKind | null>();
  for (const row of rows) {
    for (const [field, value] of Object.entries(row)) {
      kinds.set(field, mergeKinds(kinds.get(field) ?? null, kindOfValue(value)));
    }
  }
  return [...kinds].map(([name, kind]) => ({ name, kind: kind ?? 'text' }));
}

export function createTableSql(
  dialect: SqlDialect,
  table: string,
  columns: InferredColumn[],
): string {
  const definitions = columns.map(
    (c) => `${dialect.quoteId(c.name)} ${dialect.columnType(c.kind)}`,
  );
  return `CREATE TABLE ${table} (${definitions.join(', ')})`;
}

/** A value as the driver should send it to `column`. */
export function sqlValue(value: unknown, column: TargetColumn): unknown {
  if (value === null || value === undefined) return null;
  if (column.json) return JSON.stringify(value);
  if (column.array && Array.isArray(value)) return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

/** A rough size of a value in a statement, to keep statements under the server's packet limit. */
function approximateSize(value: unknown): number {
  return typeof value === 'string' ? value.length + 4 : 12;
}

/**
 * Multi-row INSERTs of `rows` into `columns` (the batch's fields, already
 * matched to the table's columns). A field a row lacks gets the column's
 * DEFAULT. Each statement holds at most `maxParameters` values and about
 * `maxBytes` of data.
 */
export function insertStatements(
  dialect: SqlDialect,
  table: string,
  columns: InsertColumn[],
  rows: Row[],
  maxBytes: number,
): SqlStatement[] {
  if (rows.length === 0) return [];
  if (columns.length === 0)
    return [{ sql: dialect.insertDefaults(table, rows.length), values: [] }];
  const head = `INSERT INTO ${table} (${columns.map((c) => dialect.quoteId(c.name)).join(', ')}) VALUES `;
  const statements: SqlStatement[] = [];
  let tuples: string[] = [];
  let values: unknown[] = [];
  let bytes = 0;
  const flush = () => {
    if (tuples.length === 0) return;
    statements.push({ sql: head + tuples.join(', '), values });
    tuples = [];
    values = [];
    bytes = 0;
  };
  for (const row of rows) {
    if (values.length + columns.length > dialect.maxParameters || bytes > maxBytes) flush();
    const slots = columns.map((column) => {
      if (!Object.prototype.hasOwnProperty.call(row, column.field)) return 'DEFAULT';
      const value = sqlValue(row[column.field], column);
      values.push(value);
      bytes += approximateSize(value);
      return dialect.placeholder(values.length);
    });
    tuples.push(`(${slots.join(', ')})`);
  }
  flush();
  return statements;
}
