import { escapeId } from 'mysql2';
import { escapeIdentifier } from 'pg';
import { ConnectorError } from '../connector-error';
import type { TableDriver } from './model';

/**
 * Table, column and collection names come from users. They are checked here
 * and only ever reach SQL through the driver's own quoting, so a name is
 * always one identifier, whatever characters it holds.
 */

export const MAX_NAME_LENGTH = 128;

/** A usable name: not empty, not too long, no NUL (which neither server stores). */
export function checkName(name: string, what: string): string {
  if (name.length === 0) throw new ConnectorError(`the ${what} name is empty`, true);
  if (name.length > MAX_NAME_LENGTH) {
    throw new ConnectorError(
      `the ${what} name '${name.slice(0, 40)}…' is longer than ${MAX_NAME_LENGTH} characters`,
      true,
    );
  }
  if (name.includes('\0')) throw new ConnectorError(`the ${what} name contains a NUL`, true);
  return name;
}

/** A PostgreSQL table: `schema.table` (split at the first dot) or `table` on the search path. */
export interface PgTableName {
  schema: string | null;
  name: string;
  /** The quoted, possibly qualified name, ready for SQL. */
  sql: string;
}

/** PostgreSQL keeps the first 63 bytes of a longer name and drops the rest without an error. */
export const PG_MAX_NAME_BYTES = 63;

/** A PostgreSQL schema or table name: one that the server would silently shorten is refused, as two could collide. */
function pgNamePart(name: string, what: string): string {
  checkName(name, what);
  if (Buffer.byteLength(name) > PG_MAX_NAME_BYTES) {
    throw new ConnectorError(
      `the ${what} name '${name.slice(0, 40)}…' is longer than PostgreSQL's ${PG_MAX_NAME_BYTES} bytes`,
      true,
    );
  }
  return name;
}

export function pgTableName(table: string): PgTableName {
  const dot = table.indexOf('.');
  const schema = dot < 0 ? null : pgNamePart(table.slice(0, dot), 'schema');
  const name = pgNamePart(dot < 0 ? table : table.slice(dot + 1), 'table');
  return {
    schema,
    name,
    sql: schema === null ? pgId(name) : `${pgId(schema)}.${pgId(name)}`,
  };
}

/** Another table in the same schema as `table` (where CloudFlow keeps its commit markers). */
export function pgSibling(table: PgTableName, name: string): string {
  return table.schema === null ? pgId(name) : `${pgId(table.schema)}.${pgId(name)}`;
}

export function pgId(name: string): string {
  return escapeIdentifier(checkName(name, 'column'));
}

export const MYSQL_MAX_NAME_LENGTH = 64;

/**
 * A MySQL table in the connection's database: the whole string is one name,
 * dots included. The server refuses names longer than 64 characters, ending
 * in a space or holding characters beyond the Basic Multilingual Plane
 * (emoji): they are refused here first, in plain words.
 */
export function mysqlTableName(table: string): string {
  checkName(table, 'table');
  if ([...table].length > MYSQL_MAX_NAME_LENGTH) {
    throw new ConnectorError(
      `the table name '${table.slice(0, 40)}…' is longer than MySQL's ${MYSQL_MAX_NAME_LENGTH} characters`,
      true,
    );
  }
  if (table.endsWith(' ')) {
    throw new ConnectorError(
      `the table name '${table}' ends in a space, which MySQL does not allow`,
      true,
    );
  }
  if (/[\u{10000}-\u{10FFFF}]/u.test(table)) {
    throw new ConnectorError(
      `the table name '${table}' holds a character MySQL does not allow in names (such as an emoji)`,
      true,
    );
  }
  return mysqlId(table);
}

export function mysqlId(name: string): string {
  return escapeId(checkName(name, 'column'), true);
}

/** A MongoDB collection: checked like any name, and never a system collection. */
export function mongoCollectionName(collection: string): string {
  checkName(collection, 'collection');
  if (collection.includes('$') || collection.startsWith('system.')) {
    throw new ConnectorError(`'${collection}' is not a collection CloudFlow may use`, true);
  }
  return collection;
}

/** A MongoDB split key: a top-level field, so a document's key is `doc[field]`. */
export function mongoFieldName(field: string): string {
  checkName(field, 'field');
  if (field.includes('.') || field.startsWith('$')) {
    throw new ConnectorError(
      `the split key '${field}' must be a top-level field (no dots, not starting with $)`,
      true,
    );
  }
  return field;
}

/**
 * Checks a table (or collection) name the way the connectors will use it,
 * without connecting: job submission calls it so that a name no server
 * accepts is refused at once, not after tasks have started. Throws a
 * permanent ConnectorError saying what is wrong.
 */
export function checkTableName(driver: TableDriver, name: string): void {
  switch (driver) {
    case 'postgres':
      pgTableName(name);
      return;
    case 'mysql':
      mysqlTableName(name);
      return;
    case 'mongodb':
      mongoCollectionName(name);
      return;
  }
}
