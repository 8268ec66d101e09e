import type { Client as PgClient } from 'pg';
import type { ConnectionConfig } from '../connection-string';
import { keyRangeWhere, type KeyIndex, type TableDriverImpl } from './driver';
import { ConnectorError } from '../connector-error';
import type { KeyRange, ResolvedTableSpec, Row, TableAccess, TableSpec } from './model';
import { pgId, pgTableName, type PgTableName } from './names';
import { closeOnAbort, closePostgres, openPostgres } from './sessions';
import { chooseSplitKey, type KeyCandidate } from './split-key';
import { plainRow } from './values';

/** A PostgreSQL column, from the catalog. */
export interface PgColumn extends KeyCandidate {
  /** Its type has a default btree ordering (else it is ordered by its text form). */
  sortable: boolean;
  /** json or jsonb: values are sent as JSON text. */
  json: boolean;
  /** An array type: JS arrays are sent as PostgreSQL arrays. */
  array: boolean;
  /** text, varchar, char or name (or a domain over one): ordered by a collation. */
  textual: boolean;
  /**
   * Its ordering never ties two distinct values (integers, dates, bytea...),
   * unlike numeric (1.0 = 1.00), floats (-0 = 0), interval (1 day = 24 hours),
   * jsonb or citext: those break ties by their text form.
   */
  exact: boolean;
}

export interface PgTable {
  oid: string;
  readable: boolean;
  rowEstimate: number | null;
  columns: PgColumn[];
}

/** The table and its columns, or null if it does not exist (or the user cannot see it). */
export async function pgCatalog(client: PgClient, table: PgTableName): Promise<PgTable | null> {
  const found = await client.query<{ oid: string; readable: boolean; estimate: string | null }>(
    `SELECT c.oid::int8::text AS oid, has_table_privilege(c.oid, 'SELECT') AS readable,
            CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END AS estimate
       FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [table.sql],
  );
  const relation = found.rows[0];
  if (!relation) return null;
  const columns = await client.query<PgColumn>(
    `SELECT a.attname AS name, a.attnotnull AS "notNull",
            t.typcategory = 'A' AS array,
            COALESCE(NULLIF(t.typbasetype, 0), a.atttypid) IN ('json'::regtype, 'jsonb'::regtype) AS json,
            COALESCE(NULLIF(t.typbasetype, 0), a.atttypid)
              IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype) AS textual,
            (t.typtype = 'e' OR COALESCE(NULLIF(t.typbasetype, 0), a.atttypid) IN (
               'text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype, '"char"'::regtype,
               'int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'oid'::regtype, 'bool'::regtype,
               'bytea'::regtype, 'uuid'::regtype, 'date'::regtype, 'time'::regtype,
               'timestamp'::regtype, 'timestamptz'::regtype)) AS exact,
            EXISTS (SELECT 1 FROM pg_index i
                     WHERE i.indrelid = a.attrelid AND i.indisunique AND i.indnkeyatts = 1
                       AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indexprs IS NULL) AS unique,
            EXISTS (SELECT 1 FROM pg_index i
                     WHERE i.indrelid = a.attrelid AND i.indisprimary AND i.indnkeyatts = 1
                       AND i.indkey[0] = a.attnum) AS primary,
            EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                     WHERE am.amname = 'btree' AND oc.opcdefault
                       AND (oc.opcintype = COALESCE(NULLIF(t.typbasetype, 0), a.atttypid)
                            OR (t.typtype = 'e' AND oc.opcintype = 'anyenum'::regtype)
                            -- varchar sorts as text: a binary-coercible type shares its ordering
                            OR EXISTS (SELECT 1 FROM pg_cast pc
                                        WHERE pc.castsource = COALESCE(NULLIF(t.typbasetype, 0), a.atttypid)
                                          AND pc.casttarget = oc.opcintype AND pc.castmethod = 'b'))) AS sortable
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [relation.oid],
  );
  return {
    oid: relation.oid,
    readable: relation.readable,
    rowEstimate: relation.estimate === null ? null : Number(relation.estimate),
    columns: columns.rows.map((c) => ({ ...c, keyable: c.sortable && !c.array })),
  };
}

/**
 * The table as a reader needs it: existing, readable, with its split key
 * checked. At submission (`resolved` false) a missing key means the primary
 * key; once resolved, null means none.
 */
async function readableTable(
  client: PgClient,
  table: PgTableName,
  spec: TableSpec,
  resolved: boolean,
): Promise<{ catalog: PgTable; key: PgColumn | null }> {
  const catalog = await pgCatalog(client, table);
  if (!catalog) {
    throw new ConnectorError(
      `the table '${spec.table}' does not exist (or the user may not see it)`,
      true,
    );
  }
  if (!catalog.readable) {
    throw new ConnectorError(`the user may not read the table '${spec.table}'`, true);
  }
  const key =
    resolved && spec.splitKey === null
      ? null
      : chooseSplitKey(spec.table, catalog.columns, spec.splitKey);
  return { catalog, key };
}

/**
 * How a column breaks ties so that rows come out in the same order on every
 * read (their numbers are their identity): two rows that tie on every
 * expression must be equal in every value. Text compares byte by byte
 * (COLLATE "C"), as a nondeterministic collation could tie distinct strings;
 * types whose ordering ties distinct values add their text form; types
 * without an ordering use only their text form.
 */
function tieBreakers(column: PgColumn): string[] {
  const id = pgId(column.name);
  if (column.textual) return [`${id} COLLATE "C"`];
  if (!column.sortable) return [`${id}::text COLLATE "C"`];
  return column.exact ? [id] : [id, `${id}::text COLLATE "C"`];
}

/**
 * How rows are ordered: by the key (in its own ordering, the one the range
 * bounds use), ties (or everything, without a key) by every column.
 */
function orderBy(columns: PgColumn[], key: PgColumn | null): string {
  if (key?.unique) return pgId(key.name);
  const keySql = key ? pgId(key.name) : '';
  const keyTies = key && !key.exact ? tieBreakers(key).filter((e) => e !== keySql) : [];
  const rest = columns.filter((c) => c.name !== key?.name).flatMap(tieBreakers);
  return [...(key ? [keySql] : []), ...keyTies, ...rest].join(', ') || '1';
}

/** Values become `$n` parameters of unknown type, which PostgreSQL reads as the key's own type. */
function parameters(): { values: unknown[]; param: (value: unknown) => string } {
  const values: unknown[] = [];
  return {
    values,
    param: (value) => {
      values.push(value);
      return `$${values.length}`;
    },
  };
}

export const postgresTables: TableDriverImpl = {
  async inspect(config, spec, access) {
    const client = await openPostgres(config, access);
    try {
      const { catalog, key } = await readableTable(client, pgTableName(spec.table), spec, false);
      return {
        columns: catalog.columns.map((c) => c.name),
        splitKey: key?.name ?? null,
        rowEstimate: catalog.rowEstimate,
      };
    } finally {
      await closePostgres(client);
    }
  },

  async openKeyIndex(config, spec, access) {
    const client = await openPostgres(config, access);
    try {
      const table = pgTableName(spec.table);
      // Every boundary comes from one snapshot, so the ranges fit together exactly.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { key } = await readableTable(client, table, spec, true);
      return postgresKeyIndex(client, table, key);
    } catch (error) {
      await closePostgres(client);
      throw error;
    }
  },

  readRows: readPostgresRows,
};

function postgresKeyIndex(client: PgClient, table: PgTableName, key: PgColumn | null): KeyIndex {
  const keySql = key ? pgId(key.name) : '';
  // Keys travel as the server's text form, exact for every type (timestamps keep their microseconds).
  const firstKey = async (sql: string, values: unknown[]) =>
    (await client.query<{ key: string }>(sql, values)).rows[0]?.key;
  const count = async (sql: string, values: unknown[]) =>
    Number((await client.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
  return {
    unique: key?.unique ?? false,
    lastKey: () =>
      firstKey(
        `SELECT ${keySql}::text AS key FROM ${table.sql} ORDER BY ${keySql} DESC LIMIT 1`,
        [],
      ),
    keyAt: (after, upTo, position) => {
      const { values, param } = parameters();
      const where = keyRangeWhere(keySql, after, upTo, param);
      return firstKey(
        `SELECT ${keySql}::text AS key FROM ${table.sql} ${where}
          ORDER BY ${keySql} OFFSET ${param(position - 1)} LIMIT 1`,
        values,
      );
    },
    count: (after, upTo) => {
      const { values, param } = parameters();
      const where = keyRangeWhere(keySql, after, upTo, param);
      return count(`SELECT count(*) AS n FROM ${table.sql} ${where}`, values);
    },
    countAll: () => count(`SELECT count(*) AS n FROM ${table.sql}`, []),
    close: async () => {
      await client.query('COMMIT').catch(() => undefined);
      await closePostgres(client);
    },
  };
}

/**
 * Reads through a server-side cursor inside one read-only snapshot: the range
 * is sorted once, and only `batchRows` rows are in memory at a time.
 */
async function* readPostgresRows(
  config: ConnectionConfig,
  spec: ResolvedTableSpec,
  range: KeyRange,
  access: TableAccess,
  batchRows: number,
): AsyncGenerator<Row[]> {
  const client = await openPostgres(config, access);
  const stopListening = closeOnAbort(access.signal, () => void closePostgres(client));
  try {
    const table = pgTableName(spec.table);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { catalog, key } = await readableTable(client, table, spec, true);
    const { values, param } = parameters();
    const where = key ? keyRangeWhere(pgId(key.name), range.after, range.upTo, param) : '';
    await client.query(
      `DECLARE cloudflow_range NO SCROLL CURSOR FOR
         SELECT * FROM ${table.sql} ${where} ORDER BY ${orderBy(catalog.columns, key)}`,
      values,
    );
    for (;;) {
      const batch = await client.query<Row>(`FETCH ${batchRows} FROM cloudflow_range`);
      if (batch.rows.length > 0) yield batch.rows.map(plainRow);
      if (batch.rows.length < batchRows) break;
    }
    await client.query('COMMIT');
  } finally {
    stopListening();
    await closePostgres(client);
  }
}
