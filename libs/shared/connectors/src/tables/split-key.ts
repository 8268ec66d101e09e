import { ConnectorError } from '../connector-error';

/** A column as far as splitting a table into tasks is concerned. */
export interface KeyCandidate {
  name: string;
  notNull: boolean;
  /** Its type orders values and round-trips them as range bounds. */
  keyable: boolean;
  /** No two rows share a value (a primary key or a single-column unique index). */
  unique: boolean;
  /** The table's single-column primary key. */
  primary: boolean;
}

/**
 * The split key of a table: the one asked for (which must be a NOT NULL
 * column of a type that can bound a range: a row with a NULL key would belong
 * to no range), else the single-column primary key, else none (the table is
 * read as one task).
 */
export function chooseSplitKey<C extends KeyCandidate>(
  table: string,
  columns: C[],
  requested: string | null | undefined,
  caseInsensitive = false,
): C | null {
  if (requested === null || requested === undefined) {
    return columns.find((c) => c.primary && c.keyable) ?? null;
  }
  const column =
    columns.find((c) => c.name === requested) ??
    (caseInsensitive
      ? columns.find((c) => c.name.toLowerCase() === requested.toLowerCase())
      : undefined);
  if (!column) {
    throw new ConnectorError(`the table '${table}' has no column '${requested}' to split by`, true);
  }
  if (!column.notNull) {
    throw new ConnectorError(
      `the split key '${column.name}' may be NULL, and rows with a NULL key would be skipped: choose a NOT NULL column, or no split key to read the table as one task`,
      true,
    );
  }
  if (!column.keyable) {
    throw new ConnectorError(
      `the split key '${column.name}' has a type CloudFlow cannot split by: choose a number, text, date or binary column`,
      true,
    );
  }
  return column;
}

/** A positive whole number of rows, or a permanent error naming the setting. */
export function checkRowCount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConnectorError(`${what} must be a whole number of rows, at least 1`, true);
  }
  return value;
}

/** The error a range read gives when the table has grown inside a planned range. */
export function tableChanged(table: string): ConnectorError {
  return new ConnectorError(
    `the table '${table}' changed while the job ran (rows were added inside a range already planned): re-run the job`,
    true,
  );
}
