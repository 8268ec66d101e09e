import type { RowDataPacket } from 'mysql2';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { keyRangeWhere, type KeyIndex, type TableDriverImpl } from './driver';
import {
  statementTimeoutOf,
  type KeyRange,
  type ResolvedTableSpec,
  type Row,
  type TableAccess,
  type TableSpec,
} from './model';
import { mysqlId, mysqlTableName } from './names';
import { closeMysql, closeOnAbort, destroyMysql, openMysql, type MysqlSession } from './sessions';
import { chooseSplitKey, type KeyCandidate } from './split-key';
import { plainRow } from './values';

/**
 * How a key of each MySQL type family travels as a range bound. Bounds are
 * text, and each is turned back into the column's own type before it is
 * compared, so nothing is compared as a floating-point number (which would
 * blur BIGINT keys above 2^53): integers become BigInt parameters, decimals
 * are cast to the column's precision, binary keys travel as hex. FLOAT,
 * DOUBLE, ENUM, SET, BIT and JSON cannot bound a range exactly.
 */
type MysqlKeyKind = 'integer' | 'decimal' | 'text' | 'binary';

const KEY_KINDS: Record<string, MysqlKeyKind> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  integer: 'integer',
  bigint: 'integer',
  year: 'integer',
  decimal: 'decimal',
  numeric: 'decimal',
  char: 'text',
  varchar: 'text',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  date: 'text',
  datetime: 'text',
  timestamp: 'text',
  time: 'text',
  binary: 'binary',
  varbinary: 'binary',
};

export interface MysqlColumn extends KeyCandidate {
  keyKind: MysqlKeyKind | null;
  precision: number | null;
  scale: number | null;
  /** Its DATA_TYPE, lower case. */
  dataType: string;
  /** The most bytes a value can take (strings and binaries; JSON and spatial types: null). */
  octets: number | null;
}

interface MysqlTable {
  rowEstimate: number | null;
  columns: MysqlColumn[];
  /** Only this many leading bytes of a long string or binary value take part in a sort. */
  maxSortLength: number;
}

type Packet<T> = (RowDataPacket & T)[];

/** The table's columns and single-column unique indexes, or null if it does not exist (or the user cannot see it). */
async function mysqlCatalog(
  session: MysqlSession,
  table: string,
  timeoutMs: number,
): Promise<MysqlTable | null> {
  const [columns] = await session.db.query<
    Packet<{
      name: string;
      notNull: number;
      dataType: string;
      precision: string | null;
      scale: string | null;
      octets: string | number | null;
      maxSortLength: string | number;
    }>
  >({
    sql: `SELECT COLUMN_NAME AS name, IS_NULLABLE = 'NO' AS notNull, LOWER(DATA_TYPE) AS dataType,
                 NUMERIC_PRECISION AS \`precision\`, NUMERIC_SCALE AS scale,
                 CHARACTER_OCTET_LENGTH AS octets, @@SESSION.max_sort_length AS maxSortLength
            FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    values: [table],
    timeout: timeoutMs,
  });
  if (columns.length === 0) return null;
  // A unique index on a column prefix (SUB_PART) does not make the whole value unique.
  const [indexes] = await session.db.query<Packet<{ indexName: string; name: string }>>({
    sql: `SELECT INDEX_NAME AS indexName, MIN(COLUMN_NAME) AS name FROM information_schema.STATISTICS
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0
           GROUP BY INDEX_NAME HAVING COUNT(*) = 1 AND MAX(SUB_PART) IS NULL`,
    values: [table],
    timeout: timeoutMs,
  });
  const [tables] = await session.db.query<Packet<{ estimate: string | null }>>({
    sql: `SELECT TABLE_ROWS AS estimate FROM information_schema.TABLES
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    values: [table],
    timeout: timeoutMs,
  });
  const unique = new Set(indexes.map((i) => i.name));
  const primary = indexes.find((i) => i.indexName === 'PRIMARY')?.name;
  const estimate = tables[0]?.estimate;
  return {
    rowEstimate: estimate === null || estimate === undefined ? null : Number(estimate),
    maxSortLength: Number(columns[0]?.maxSortLength ?? 1024),
    columns: columns.map((c) => ({
      name: c.name,
      notNull: Boolean(c.notNull),
      keyKind: KEY_KINDS[c.dataType] ?? null,
      keyable: KEY_KINDS[c.dataType] !== undefined,
      unique: unique.has(c.name),
      primary: c.name === primary,
      precision: c.precision === null ? null : Number(c.precision),
      scale: c.scale === null ? null : Number(c.scale),
      dataType: c.dataType,
      octets: c.octets === null ? null : Number(c.octets),
    })),
  };
}

/** The table as a reader needs it: existing, readable, with its split key checked. */
async function readableTable(
  session: MysqlSession,
  spec: TableSpec,
  resolved: boolean,
  timeoutMs: number,
): Promise<{ catalog: MysqlTable; key: MysqlColumn | null }> {
  const catalog = await mysqlCatalog(session, spec.table, timeoutMs);
  if (!catalog) {
    throw new ConnectorError(
      `the table '${spec.table}' does not exist (or the user may not see it)`,
      true,
    );
  }
  // Fails with a permission error if the user may see the table but not read it.
  await session.db.query({
    sql: `SELECT * FROM ${mysqlTableName(spec.table)} LIMIT 0`,
    timeout: timeoutMs,
  });
  const key =
    resolved && spec.splitKey === null
      ? null
      : chooseSplitKey(spec.table, catalog.columns, spec.splitKey, true);
  return { catalog, key };
}

/** The key as a range bound carries it: text (hex for binary keys). */
function keyText(key: MysqlColumn): string {
  return key.keyKind === 'binary'
    ? `HEX(${mysqlId(key.name)})`
    : `CAST(${mysqlId(key.name)} AS CHAR)`;
}

/** Registers a range bound as a parameter of the key's own type; returns its SQL. */
function keyParameter(key: MysqlColumn, values: unknown[]): (value: unknown) => string {
  return (value) => {
    const text = String(value);
    switch (key.keyKind) {
      case 'integer':
        if (!/^-?\d+$/.test(text)) {
          throw new ConnectorError(
            `the range bound '${text.slice(0, 40)}' is not an integer key`,
            true,
          );
        }
        values.push(BigInt(text));
        return '?';
      case 'decimal':
        values.push(text);
        return `CAST(? AS DECIMAL(${key.precision ?? 65}, ${key.scale ?? 0}))`;
      case 'binary':
        values.push(text);
        return 'UNHEX(?)';
      default:
        values.push(text);
        return '?';
    }
  };
}

/** Types compared by a collation: 'a' = 'A' = 'a ' under the usual _ci ones. */
const COLLATED_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
/** Types whose sort is on bytes, but only their first max_sort_length bytes. */
const BYTE_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
/** MySQL's JSON (which does not sort objects and arrays) and the spatial types: only their bytes order them. */
const UNORDERED_TYPES = new Set([
  'json',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
]);

/**
 * How a column breaks ties so that rows come out in the same order on every
 * read (their numbers are their identity): two rows that tie on every
 * expression must be equal in every value. Strings compare as bytes (their
 * collation may tie 'a', 'A', 'á' and 'a '; CAST AS BINARY works whatever
 * the column's character set), and a value longer than the server sorts on
 * adds a hash of all of it.
 */
function tieBreakers(column: MysqlColumn, maxSortLength: number): string[] {
  const id = mysqlId(column.name);
  const collated = COLLATED_TYPES.has(column.dataType);
  const unordered = UNORDERED_TYPES.has(column.dataType);
  if (!collated && !unordered && !BYTE_TYPES.has(column.dataType)) return [id];
  const bytes = collated || unordered ? `CAST(${id} AS BINARY)` : id;
  const long = unordered || column.octets === null || column.octets > maxSortLength;
  return long ? [bytes, `SHA2(${bytes}, 256)`] : [bytes];
}

/**
 * How rows are ordered: by the key (in its collation, the one the range
 * bounds use), ties (or everything, without a key) by every column.
 */
function orderBy(table: MysqlTable, key: MysqlColumn | null): string {
  if (key?.unique) return mysqlId(key.name);
  const keySql = key ? mysqlId(key.name) : '';
  const keyTies = key ? tieBreakers(key, table.maxSortLength).filter((e) => e !== keySql) : [];
  const rest = table.columns
    .filter((c) => c.name !== key?.name)
    .flatMap((c) => tieBreakers(c, table.maxSortLength));
  return [...(key ? [keySql] : []), ...keyTies, ...rest].join(', ');
}

export const mysqlTables: TableDriverImpl = {
  async inspect(config, spec, access) {
    const session = await openMysql(config, access);
    try {
      const { catalog, key } = await readableTable(session, spec, false, access.timeoutMs);
      return {
        columns: catalog.columns.map((c) => c.name),
        splitKey: key?.name ?? null,
        rowEstimate: catalog.rowEstimate,
      };
    } finally {
      await closeMysql(session);
    }
  },

  async openKeyIndex(config, spec, access) {
    const session = await openMysql(config, access);
    try {
      // Every boundary comes from one snapshot, so the ranges fit together exactly.
      await session.db.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const { key } = await readableTable(session, spec, true, access.timeoutMs);
      return mysqlKeyIndex(session, mysqlTableName(spec.table), key, statementTimeoutOf(access));
    } catch (error) {
      await closeMysql(session);
      throw error;
    }
  },

  readRows: readMysqlRows,
};

function mysqlKeyIndex(
  session: MysqlSession,
  table: string,
  key: MysqlColumn | null,
  timeoutMs: number,
): KeyIndex {
  const keySql = key ? mysqlId(key.name) : '';
  const firstKey = async (sql: string, values: unknown[]) => {
    const [rows] = await session.db.query<Packet<{ k: string | number }>>({
      sql,
      values,
      timeout: timeoutMs,
    });
    const found = rows[0]?.k;
    return found === undefined || found === null ? undefined : String(found);
  };
  const count = async (sql: string, values: unknown[]) => {
    const [rows] = await session.db.query<Packet<{ n: string | number }>>({
      sql,
      values,
      timeout: timeoutMs,
    });
    return Number(rows[0]?.n ?? 0);
  };
  const where = (after: unknown, upTo: unknown) => {
    const values: unknown[] = [];
    const sql = key ? keyRangeWhere(keySql, after, upTo, keyParameter(key, values)) : '';
    return { sql, values };
  };
  return {
    unique: key?.unique ?? false,
    lastKey: () =>
      key
        ? firstKey(`SELECT ${keyText(key)} AS k FROM ${table} ORDER BY ${keySql} DESC LIMIT 1`, [])
        : Promise.resolve(undefined),
    keyAt: (after, upTo, position) => {
      if (!key) return Promise.resolve(undefined);
      const bounds = where(after, upTo);
      return firstKey(
        `SELECT ${keyText(key)} AS k FROM ${table} ${bounds.sql} ORDER BY ${keySql} LIMIT 1 OFFSET ?`,
        [...bounds.values, position - 1],
      );
    },
    count: (after, upTo) => {
      const bounds = where(after, upTo);
      return count(`SELECT COUNT(*) AS n FROM ${table} ${bounds.sql}`, bounds.values);
    },
    countAll: () => count(`SELECT COUNT(*) AS n FROM ${table}`, []),
    close: async () => {
      await session.db.query('COMMIT').catch(() => undefined);
      await closeMysql(session);
    },
  };
}

/**
 * Streams the range with one query: the driver pauses the socket while the
 * consumer is busy, so only about `batchRows` rows are in memory at a time.
 */
async function* readMysqlRows(
  config: ConnectionConfig,
  spec: ResolvedTableSpec,
  range: KeyRange,
  access: TableAccess,
  batchRows: number,
): AsyncGenerator<Row[]> {
  const session = await openMysql(config, access);
  const stopListening = closeOnAbort(access.signal, () => destroyMysql(session));
  let drained = false;
  try {
    const { catalog, key } = await readableTable(session, spec, true, access.timeoutMs);
    const values: unknown[] = [];
    const where = key
      ? keyRangeWhere(mysqlId(key.name), range.after, range.upTo, keyParameter(key, values))
      : '';
    const stream = session.core
      .query({
        sql: `SELECT * FROM ${mysqlTableName(spec.table)} ${where} ORDER BY ${orderBy(catalog, key)}`,
        values,
      })
      .stream({ highWaterMark: batchRows });
    let batch: Row[] = [];
    for await (const row of stream) {
      batch.push(plainRow(row as Record<string, unknown>));
      if (batch.length === batchRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    drained = true;
  } finally {
    stopListening();
    // A result still streaming would have to be read to its end before the connection could quit.
    if (drained) await closeMysql(session);
    else destroyMysql(session);
  }
}
