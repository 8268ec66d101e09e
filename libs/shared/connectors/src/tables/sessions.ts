import type { MongoClient } from 'mongodb';
import { createConnection as mysqlConnection, type Connection as MysqlCore } from 'mysql2';
import type { Connection as MysqlConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { mongoClient, mysqlSettings, pgSettings } from '../clients';
import type { ConnectionConfig } from '../connection-string';
import { statementTimeoutOf, type TableAccess } from './model';
import { MYSQL_TYPE_CAST, PG_TYPES } from './values';

/**
 * Connections for table reads and writes. Like every data-source connection
 * they go to the address the network policy allowed, with the driver settings
 * of `clients.ts`; on top of those, statements get a task-sized bound
 * (`statementTimeoutMs`) instead of the connect-sized `timeoutMs`, and dates
 * are read in UTC so they come out the same on every worker.
 */

/** Bounds a writer adds so that a frozen session cannot hold locks forever. */
export interface WriterBounds {
  /** How long a statement waits for a lock another session holds. */
  lockTimeoutMs: number;
  /** How long the server keeps a session that sits idle in (or out of) its transaction. */
  idleTimeoutMs: number;
}

async function allowedAddress(config: ConnectionConfig, access: TableAccess): Promise<string> {
  const [address] = await access.policy.resolve(config.host ?? '', access.timeoutMs);
  return address ?? config.host ?? '';
}

/**
 * Every PostgreSQL session reads times in UTC, and writes floats with every
 * digit they need: a float split key travels as text (`key::text`) and must
 * come back as the very same number, or a range bound would fall between two
 * keys. PostgreSQL 12 and later already do so unless a role or database sets
 * `extra_float_digits` lower; before 12 only 3 is exact. Startup options
 * outrank role and database settings.
 */
export const PG_SESSION_OPTIONS = '-c TimeZone=UTC -c extra_float_digits=3';

export async function openPostgres(
  config: ConnectionConfig,
  access: TableAccess,
  writer?: WriterBounds,
): Promise<PgClient> {
  const address = await allowedAddress(config, access);
  const statementMs = statementTimeoutOf(access);
  const client = new PgClient({
    ...pgSettings(config, address, access.timeoutMs),
    statement_timeout: statementMs,
    // Client side too: a server that stops answering mid-statement is given up on.
    query_timeout: statementMs + access.timeoutMs,
    keepAlive: true,
    types: PG_TYPES,
    options: PG_SESSION_OPTIONS,
    ...(writer && {
      lock_timeout: writer.lockTimeoutMs,
      idle_in_transaction_session_timeout: writer.idleTimeoutMs,
    }),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await closePostgres(client);
    throw error;
  }
  return client;
}

export async function closePostgres(client: PgClient): Promise<void> {
  await client.end().catch(() => undefined);
  // A server that never answered leaves the socket half-open after end(): close it.
  destroyPostgres(client);
}

/**
 * Drops the connection at once, even with a statement in flight (which
 * `end()` would wait for, or queue behind): the server rolls back the
 * session's transaction when it notices, at the latest when a statement
 * waiting for a lock gives up (lock_timeout).
 */
export function destroyPostgres(client: PgClient): void {
  (
    client as unknown as { connection?: { stream?: { destroy(): void } } }
  ).connection?.stream?.destroy();
}

/** A MySQL connection: `db` for statements, `core` for streaming a result row by row. */
export interface MysqlSession {
  core: MysqlCore;
  db: MysqlConnection;
}

export async function openMysql(
  config: ConnectionConfig,
  access: TableAccess,
  writer?: WriterBounds,
): Promise<MysqlSession> {
  const address = await allowedAddress(config, access);
  const core = mysqlConnection({
    ...mysqlSettings(config, address, access.timeoutMs),
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    typeCast: MYSQL_TYPE_CAST,
    charset: 'utf8mb4',
    enableKeepAlive: true,
  });
  core.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) =>
      core.connect((error) => (error ? reject(error) : resolve())),
    );
    const db = core.promise();
    const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
    // A reader that pauses between batches (backpressure) must not be cut off by the server.
    await db.query({
      sql: `SET SESSION time_zone = '+00:00', net_write_timeout = ?, net_read_timeout = ?`,
      values: [seconds(statementTimeoutOf(access)), seconds(statementTimeoutOf(access))],
      timeout: access.timeoutMs,
    });
    if (writer) {
      await db.query({
        sql: `SET SESSION innodb_lock_wait_timeout = ?, lock_wait_timeout = ?, wait_timeout = ?,
                      sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_ALL_TABLES')`,
        values: [
          seconds(writer.lockTimeoutMs),
          seconds(writer.lockTimeoutMs),
          seconds(writer.idleTimeoutMs),
        ],
        timeout: access.timeoutMs,
      });
    }
    return { core, db };
  } catch (error) {
    destroyMysql({ core });
    throw error;
  }
}

export async function closeMysql(session: MysqlSession): Promise<void> {
  await session.db.end().catch(() => destroyMysql(session));
}

/**
 * Drops the connection at once: a statement in flight fails with a lost
 * connection now, not when the server answers, and the server rolls back
 * the session's transaction. (mysql2's own `destroy()` only half-closes the
 * socket, so a statement waiting for a lock would still wait.)
 */
export function destroyMysql(session: Pick<MysqlSession, 'core'>): void {
  (session.core as unknown as { stream?: { destroy(): void } }).stream?.destroy();
}

export async function openMongo(
  config: ConnectionConfig,
  access: TableAccess,
): Promise<MongoClient> {
  const address = await allowedAddress(config, access);
  const client = mongoClient(config, address, access.timeoutMs);
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return client;
}

/**
 * Runs `close` when the task is stopped, so a statement in flight ends at
 * once instead of at its timeout; returns the function that stops listening.
 */
export function closeOnAbort(signal: AbortSignal | undefined, close: () => void): () => void {
  if (!signal) return () => undefined;
  const onAbort = () => close();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
