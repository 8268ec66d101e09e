import { createConnection as mysqlConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import type { DataSourceMetadata } from '@cloudflow/contracts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mongoClient, mysqlSettings, pgSettings } from './clients';
import { s3Client, s3Endpoint } from './s3';
import type { ConnectionConfig } from './connection-string';
import type { NetworkPolicy } from './network-policy';

/** At most this many tables or collections are described. */
export const MAX_TABLES = 200;
/** Documents sampled per collection to name its fields. */
const MONGO_SAMPLE = 20;

interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

/**
 * What is in a data source: a database's tables (or collections) with columns
 * (or fields), types and row estimates from the server's statistics — cheap,
 * never a full count — or a bucket's objects with their sizes. Connects like a connection test: to the address the network
 * policy allowed, within `timeoutMs`.
 */
export async function describeSource(
  config: ConnectionConfig,
  options: { policy: NetworkPolicy; timeoutMs: number },
): Promise<DataSourceMetadata> {
  if (config.driver === 's3') return describeBucket(config, options);
  const [address] = await options.policy.resolve(config.host ?? '', options.timeoutMs);
  const target = address ?? config.host ?? '';
  switch (config.driver) {
    case 'postgres':
      return describePostgres(config, target, options.timeoutMs);
    case 'mysql':
      return describeMysql(config, target, options.timeoutMs);
    case 'mongodb':
      return describeMongo(config, target, options.timeoutMs);
    default:
      throw new Error(`${config.driver} is not a database`);
  }
}

async function describePostgres(
  config: ConnectionConfig,
  address: string,
  timeoutMs: number,
): Promise<DataSourceMetadata> {
  const client = new PgClient(pgSettings(config, address, timeoutMs));
  client.on('error', () => undefined);
  await client.connect();
  try {
    const tables = await client.query<{ schema: string; name: string; rows: string | null }>(
      `SELECT n.nspname AS schema, c.relname AS name,
              CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS rows
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND has_table_privilege(c.oid, 'SELECT')
        ORDER BY 1, 2 LIMIT $1`,
      [MAX_TABLES],
    );
    const columns = await client.query<{
      schema: string;
      table: string;
      name: string;
      type: string;
      nullable: string;
    }>(
      `SELECT table_schema AS schema, table_name AS table, column_name AS name, data_type AS type,
              is_nullable AS nullable
         FROM information_schema.columns
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY table_schema, table_name, ordinal_position`,
    );
    return {
      kind: 'database',
      driver: 'postgres',
      tables: tables.rows.map((t) => ({
        name: t.schema === 'public' ? t.name : `${t.schema}.${t.name}`,
        rowEstimate: t.rows === null ? null : Number(t.rows),
        columns: columns.rows
          .filter((c) => c.schema === t.schema && c.table === t.name)
          .map((c): Column => ({ name: c.name, type: c.type, nullable: c.nullable === 'YES' })),
      })),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function describeMysql(
  config: ConnectionConfig,
  address: string,
  timeoutMs: number,
): Promise<DataSourceMetadata> {
  const connection = await mysqlConnection(mysqlSettings(config, address, timeoutMs));
  try {
    const [tables] = await connection.query<
      (import('mysql2').RowDataPacket & { name: string; rows: number | null })[]
    >({
      sql: `SELECT table_name AS name, table_rows AS \`rows\` FROM information_schema.tables
             WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name LIMIT ?`,
      values: [MAX_TABLES],
      timeout: timeoutMs,
    });
    const [columns] = await connection.query<
      (import('mysql2').RowDataPacket & {
        tableName: string;
        name: string;
        type: string;
        nullable: string;
      })[]
    >({
      sql: `SELECT table_name AS tableName, column_name AS name, column_type AS type, is_nullable AS nullable
              FROM information_schema.columns WHERE table_schema = DATABASE()
             ORDER BY table_name, ordinal_position`,
      timeout: timeoutMs,
    });
    return {
      kind: 'database',
      driver: 'mysql',
      tables: tables.map((t) => ({
        name: t.name,
        rowEstimate: t.rows === null ? null : Number(t.rows),
        columns: columns
          .filter((c) => c.tableName === t.name)
          .map((c): Column => ({ name: c.name, type: c.type, nullable: c.nullable === 'YES' })),
      })),
    };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function describeMongo(
  config: ConnectionConfig,
  address: string,
  timeoutMs: number,
): Promise<DataSourceMetadata> {
  const client = mongoClient(config, address, timeoutMs);
  await client.connect();
  try {
    const db = client.db(config.database);
    const collections = (await db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((name) => !name.startsWith('system.'))
      .sort()
      .slice(0, MAX_TABLES);
    const tables = [];
    for (const name of collections) {
      const collection = db.collection(name);
      const [rowEstimate, sample] = await Promise.all([
        collection.estimatedDocumentCount({ maxTimeMS: timeoutMs }),
        collection.find({}, { limit: MONGO_SAMPLE, maxTimeMS: timeoutMs }).toArray(),
      ]);
      const fields = new Map<string, Set<string>>();
      for (const doc of sample) {
        for (const [field, value] of Object.entries(doc)) {
          const types = fields.get(field) ?? new Set<string>();
          types.add(bsonType(value));
          fields.set(field, types);
        }
      }
      tables.push({
        name,
        rowEstimate,
        columns: [...fields].map(
          ([field, types]): Column => ({
            name: field,
            type: [...types].filter((t) => t !== 'null').join('|') || 'null',
            nullable: types.has('null') || sample.some((doc) => !(field in doc)),
          }),
        ),
      });
    }
    return { kind: 'database', driver: 'mongodb', tables };
  } finally {
    await client.close().catch(() => undefined);
  }
}

function bsonType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (typeof value === 'object') {
    const bsontype = (value as { _bsontype?: string })._bsontype;
    return bsontype ? bsontype.toLowerCase() : 'object';
  }
  return typeof value;
}

/** At most this many objects are listed. */
const MAX_OBJECTS = 1_000;

async function describeBucket(
  config: ConnectionConfig,
  options: { policy: NetworkPolicy; timeoutMs: number },
): Promise<DataSourceMetadata> {
  // Checked here too, so a refused endpoint is a PolicyError before any request.
  await options.policy.resolve(
    s3Endpoint(config).hostname.replace(/^\[(.*)\]$/, '$1'),
    options.timeoutMs,
  );
  const client = s3Client(config, options.policy, options.timeoutMs);
  try {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: config.bucket,
        Prefix: config.key ?? '',
        MaxKeys: MAX_OBJECTS,
      }),
    );
    return {
      kind: 'bucket',
      driver: 's3',
      bucket: config.bucket ?? '',
      prefix: config.key ?? '',
      objects: (page.Contents ?? []).map((object) => ({
        key: object.Key ?? '',
        size: object.Size ?? 0,
        lastModified: object.LastModified ? object.LastModified.toISOString() : null,
      })),
      truncated: page.IsTruncated === true,
    };
  } finally {
    client.destroy();
  }
}
