import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createConnection, type Connection as MysqlConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { testEnv, uniqueName } from '@cloudflow/testing';
import { parseConnectionString, type ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { NetworkPolicy } from '../network-policy';
import type { Row } from './model';
import { COMMIT_MARKERS, SqlTableSink } from './sql-table-sink';

/** The test servers listen on loopback, which a deployment must allow explicitly. */
const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });

/** The test's own hands on a server: a plain driver connection, for setting up and checking. */
interface Server {
  driver: 'postgres' | 'mysql';
  config: ConnectionConfig;
  /** A fresh table name (in a schema of the test's own in PostgreSQL). */
  tableName(base: string): string;
  sqlName(table: string): string;
  /** Where the sink keeps its commit markers for tables from `tableName`. */
  markers: string;
  exec(sql: string, values?: unknown[]): Promise<Row[]>;
  /** Column name -> the server's type name, in table order. */
  columnTypes(table: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

function configOf(driver: 'postgres' | 'mysql', url: string): ConnectionConfig {
  const parsed = parseConnectionString(driver, url);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

async function postgresServer(): Promise<Server> {
  const url = testEnv('CLOUDFLOW_TEST_POSTGRES_URL');
  const client = new PgClient({ connectionString: url });
  await client.connect();
  const schema = uniqueName('cf_sink');
  await client.query(`CREATE SCHEMA ${schema}`);
  const sqlName = (table: string) =>
    table
      .split('.')
      .map((part) => client.escapeIdentifier(part))
      .join('.');
  return {
    driver: 'postgres',
    config: configOf('postgres', url),
    tableName: (base) => `${schema}.${uniqueName(base)}`,
    sqlName,
    markers: sqlName(`${schema}.${COMMIT_MARKERS}`),
    exec: async (sql, values = []) => (await client.query<Row>(sql, values)).rows,
    columnTypes: async (table) => {
      const [tableSchema, name] = table.split('.');
      const rows = await client.query<{ name: string; type: string }>(
        `SELECT column_name AS name, data_type AS type FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [tableSchema, name],
      );
      return Object.fromEntries(rows.rows.map((r) => [r.name, r.type]));
    },
    close: async () => {
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
}

async function mysqlServer(): Promise<Server> {
  const url = testEnv('CLOUDFLOW_TEST_MYSQL_URL');
  const connection: MysqlConnection = await createConnection(url);
  const created: string[] = [];
  const exec = async (sql: string, values: unknown[] = []) =>
    (await connection.query(sql, values))[0] as Row[];
  return {
    driver: 'mysql',
    config: configOf('mysql', url),
    tableName: (base) => {
      const name = uniqueName(base);
      created.push(name);
      return name;
    },
    sqlName: (table) => connection.escapeId(table),
    markers: connection.escapeId(COMMIT_MARKERS),
    exec,
    columnTypes: async (table) => {
      const rows = await exec(
        `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
        [table],
      );
      return Object.fromEntries(rows.map((r) => [r['name'], r['type']]));
    },
    close: async () => {
      for (const name of created) await exec(`DROP TABLE IF EXISTS ${connection.escapeId(name)}`);
      await connection.end();
    },
  };
}

/**
 * Runs `sql` in a transaction of a session of the test's own, left open so
 * that it holds its locks, as a frozen attempt would; returns what ends it.
 * Placeholders are `?`, turned into `$n` for PostgreSQL.
 */
async function holdOpen(
  server: Server,
  sql: string,
  values: unknown[],
): Promise<() => Promise<void>> {
  if (server.driver === 'postgres') {
    const client = new PgClient({ connectionString: testEnv('CLOUDFLOW_TEST_POSTGRES_URL') });
    await client.connect();
    await client.query('BEGIN');
    let n = 0;
    await client.query(
      sql.replace(/\?/g, () => `$${++n}`),
      values,
    );
    return async () => {
      await client.query('ROLLBACK');
      await client.end();
    };
  }
  const connection = await createConnection(testEnv('CLOUDFLOW_TEST_MYSQL_URL'));
  await connection.query('START TRANSACTION');
  await connection.query(sql, values);
  return async () => {
    await connection.query('ROLLBACK');
    await connection.end();
  };
}

/** Inserts a task's marker in a transaction left open, as an attempt frozen before COMMIT would; returns what ends it. */
function holdMarker(server: Server, taskId: string, jobId: string): Promise<() => Promise<void>> {
  return holdOpen(server, `INSERT INTO ${server.markers} (task_id, job_id) VALUES (?, ?)`, [
    taskId,
    jobId,
  ]);
}

/** A TCP relay to a server that can stop relaying, as a network that drops every packet would. */
interface Relay {
  port: number;
  freeze(): void;
  close(): Promise<void>;
}

async function freezableRelay(target: number): Promise<Relay> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (data) => {
        if (!frozen) to.write(data);
      });
      from.on('close', end);
      from.on('error', end);
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

/** Waits until some session's INSERT into `table` waits for a lock another session holds. */
async function waitForBlockedInsert(server: Server, table: string): Promise<void> {
  const insert = `INSERT INTO ${server.sqlName(table)}%`;
  const blocked =
    server.driver === 'postgres'
      ? `SELECT COUNT(*) AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`
      : `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
          WHERE COMMAND = 'Query' AND INFO LIKE ? AND ID <> CONNECTION_ID()`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (Number((await server.exec(blocked, [insert]))[0]?.['n']) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no INSERT into ${table} waited for a lock within 10 s`);
}

const ROWS: Row[] = [
  { name: 'Ada', visits: 3, score: 1.5, active: true, tags: ['a', 'b'], note: null },
  { name: 'Grace', visits: 12, score: 2, active: false, tags: { nested: 1 }, note: null },
  { name: 'Linus', visits: null, score: 0.25, active: true, tags: [], note: null },
];

describe.each([
  ['PostgreSQL', postgresServer],
  ['MariaDB', mysqlServer],
] as const)('SqlTableSink against a real %s server', (_name, open) => {
  let server: Server;
  const jobId = uniqueName('job');
  const sinkOptions = (taskId: string, extra: { timeoutMs?: number } = {}) => ({
    policy,
    timeoutMs: extra.timeoutMs ?? 10_000,
    jobId,
    taskId: `${jobId}-${taskId}`,
  });
  const sinkFor = (table: string, taskId: string, extra: { timeoutMs?: number } = {}) =>
    new SqlTableSink(server.config, { driver: server.driver, table }, sinkOptions(taskId, extra));
  const countOf = async (table: string) =>
    Number((await server.exec(`SELECT COUNT(*) AS n FROM ${server.sqlName(table)}`))[0]?.['n']);

  beforeAll(async () => {
    server = await open();
  });

  afterAll(async () => {
    // The marker table may be shared with other runs (MariaDB): only this run's markers go.
    await server
      ?.exec(
        `DELETE FROM ${server.markers} WHERE job_id = ${server.driver === 'postgres' ? '$1' : '?'}`,
        [jobId],
      )
      .catch(() => undefined);
    await server?.close();
  });

  it('creates a missing table from the first batch, with a column type for each kind of value', async () => {
    const table = server.tableName('created');
    const sink = sinkFor(table, 'create');
    await sink.write(ROWS, [1, 2, 3]);
    await sink.write([{ name: 'Margaret' }], [4]);
    await sink.commit();

    expect(await server.columnTypes(table)).toEqual(
      server.driver === 'postgres'
        ? {
            name: 'text',
            visits: 'numeric',
            score: 'numeric',
            active: 'boolean',
            tags: 'jsonb',
            note: 'text',
          }
        : {
            name: 'longtext',
            visits: 'double',
            score: 'double',
            active: 'tinyint(1)',
            tags: 'longtext',
            note: 'longtext',
          },
    );
    const rows = await server.exec(
      `SELECT name, visits, score, tags FROM ${server.sqlName(table)} ORDER BY name`,
    );
    const tags = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);
    const score = (value: unknown) => (value === null ? null : Number(value));
    expect(
      rows.map((r) => [r['name'], Number(r['visits'] ?? NaN), score(r['score']), tags(r['tags'])]),
    ).toEqual([
      ['Ada', 3, 1.5, ['a', 'b']],
      ['Grace', 12, 2, { nested: 1 }],
      ['Linus', NaN, 0.25, []],
      ['Margaret', NaN, null, null],
    ]);
  });

  it('commits a task once however often it is attempted', async () => {
    const table = server.tableName('retried');
    const first = sinkFor(table, 'retried');
    await first.write(ROWS, [1, 2, 3]);
    await first.commit();
    const second = sinkFor(table, 'retried');
    await second.write(ROWS, [1, 2, 3]);
    await second.commit();

    expect(await countOf(table)).toBe(3);
    const markers = await server.exec(
      `SELECT job_id FROM ${server.markers} WHERE task_id = ${server.driver === 'postgres' ? '$1' : '?'}`,
      [`${jobId}-retried`],
    );
    expect(markers).toEqual([{ job_id: jobId }]);
  });

  it('leaves the rows once when two attempts of one task run at the same time', async () => {
    // The table does not exist yet: both attempts also race to create it.
    const table = server.tableName('concurrent');
    const attempts = [sinkFor(table, 'twice'), sinkFor(table, 'twice')];
    const rows = Array.from({ length: 500 }, (_, i) => ({ n: i + 1 }));
    await Promise.all(
      attempts.map((sink) =>
        sink.write(
          rows,
          rows.map((_, i) => i + 1),
        ),
      ),
    );
    await Promise.all(attempts.map((sink) => sink.commit()));

    expect(await countOf(table)).toBe(500);
  });

  it('refuses a field the existing table has no column for, naming it, permanently', async () => {
    const table = server.tableName('unknown_field');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (name VARCHAR(20), visits INTEGER)`);
    const sink = sinkFor(table, 'unknown');
    const error = await sink
      .write([{ name: 'Ada', visits: 1, shoe_size: 38 }], [1])
      .catch((e: unknown) => e);
    await sink.abort();

    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ permanent: true });
    expect((error as Error).message).toContain("no column 'shoe_size'");
    expect(await countOf(table)).toBe(0);
  });

  it('refuses a value the column cannot hold, permanently', async () => {
    const table = server.tableName('bad_value');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (name VARCHAR(20), visits INTEGER)`);
    const sink = sinkFor(table, 'bad-value');
    const error = await sink.write([{ name: 'Ada', visits: 'many' }], [1]).catch((e: unknown) => e);
    await sink.abort();

    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ permanent: true });
    expect((error as Error).message).toMatch(
      server.driver === 'mysql' ? /column 'visits'/ : /does not fit.*integer/,
    );
  });

  it('leaves nothing behind when the attempt is aborted', async () => {
    const table = server.tableName('aborted');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (name VARCHAR(20))`);
    const sink = sinkFor(table, 'aborted');
    await sink.write([{ name: 'Ada' }, { name: 'Grace' }], [1, 2]);
    await sink.abort();

    expect(await countOf(table)).toBe(0);
    // Aborted, the task may still commit later.
    const retry = sinkFor(table, 'aborted');
    await retry.write([{ name: 'Ada' }], [1]);
    await retry.commit();
    expect(await countOf(table)).toBe(1);
  });

  it('does nothing on commit when no rows were written (no table is created)', async () => {
    const table = server.tableName('nothing');
    const sink = sinkFor(table, 'nothing');
    await sink.write([], []);
    await sink.commit();

    expect(await server.columnTypes(table)).toEqual({});
  });

  it('waits only a bounded time for an attempt frozen on its commit, then commits once it is gone', async () => {
    const table = server.tableName('frozen');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (name VARCHAR(20))`);
    // The sink's first write makes sure the marker table exists.
    const warmUp = sinkFor(table, 'frozen-warm-up');
    await warmUp.write([{ name: 'warm' }], [1]);
    await warmUp.abort();

    // A frozen attempt: it inserted its marker and never committed (a session of the test's own).
    const release = await holdMarker(server, `${jobId}-frozen`, jobId);
    try {
      const blocked = sinkFor(table, 'frozen', { timeoutMs: 1_500 });
      await blocked.write([{ name: 'Ada' }], [1]);
      const started = Date.now();
      const error = await blocked.commit().catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ permanent: false });
      expect(await countOf(table)).toBe(0);
    } finally {
      await release();
    }
    const retry = sinkFor(table, 'frozen');
    await retry.write([{ name: 'Ada' }], [1]);
    await retry.commit();
    expect(await countOf(table)).toBe(1);
  });

  it('creates number columns from whole numbers that take the fractions and large numbers of later tasks', async () => {
    const table = server.tableName('numbers');
    const first = sinkFor(table, 'numbers-1');
    await first.write([{ n: 10 }], [1]);
    await first.commit();
    const second = sinkFor(table, 'numbers-2');
    await second.write([{ n: 10.5 }, { n: 1e20 }, { n: -0.25 }], [2, 3, 4]);
    await second.commit();

    const rows = await server.exec(`SELECT n FROM ${server.sqlName(table)} ORDER BY n`);
    expect(rows.map((r) => Number(r['n']))).toEqual([-0.25, 10, 10.5, 1e20]);
  });

  it('ends a newer attempt as committed when it ran into the rows of a stale attempt that then committed', async () => {
    const table = server.tableName('keyed');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (id INTEGER PRIMARY KEY, name VARCHAR(20))`,
    );
    const rows = [
      { id: 1, name: 'Ada' },
      { id: 2, name: 'Grace' },
      { id: 3, name: 'Linus' },
    ];
    const stale = sinkFor(table, 'keyed');
    await stale.write(rows, [1, 2, 3]);
    // The newer attempt waits for the stale one's uncommitted rows...
    const newer = sinkFor(table, 'keyed');
    const newerWrite = newer.write(rows, [1, 2, 3]);
    await waitForBlockedInsert(server, table);
    // ...which commits: the newer one's inserts now meet committed duplicates.
    await stale.commit();
    await newerWrite;
    await newer.commit();

    const ids = await server.exec(`SELECT id FROM ${server.sqlName(table)} ORDER BY id`);
    expect(ids.map((r) => Number(r['id']))).toEqual([1, 2, 3]);
    // Once committed, later attempts write nothing at all.
    const late = sinkFor(table, 'keyed');
    await late.write(rows, [1, 2, 3]);
    await late.commit();
    expect(await countOf(table)).toBe(3);
  });

  it('lets a newer attempt write once the server has cut off a stale attempt frozen on its rows', async () => {
    const table = server.tableName('frozen_rows');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (id INTEGER PRIMARY KEY)`);
    const rows = [{ id: 1 }, { id: 2 }];
    const options = { ...sinkOptions('frozen-rows'), idleTimeoutMs: 1_000 };
    // The stale attempt writes and then does nothing more, as a frozen worker would.
    const stale = new SqlTableSink(server.config, { driver: server.driver, table }, options);
    await stale.write(rows, [1, 2]);
    try {
      const newer = new SqlTableSink(server.config, { driver: server.driver, table }, options);
      await newer.write(rows, [1, 2]);
      await newer.commit();
    } finally {
      await stale.abort();
    }
    expect(await countOf(table)).toBe(2);
  });

  it('gives up on a statement the server never answers, within its bound', async () => {
    const table = server.tableName('unanswered');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (name VARCHAR(20))`);
    const relay = await freezableRelay(server.config.port ?? 0);
    try {
      const sink = new SqlTableSink(
        { ...server.config, port: relay.port },
        { driver: server.driver, table },
        { ...sinkOptions('unanswered', { timeoutMs: 1_000 }), statementTimeoutMs: 1_000 },
      );
      await sink.write([{ name: 'Ada' }], [1]);
      relay.freeze();
      const started = Date.now();
      const error = await sink.commit().catch((e: unknown) => e);

      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ permanent: false });
    } finally {
      await relay.close();
    }
    expect(await countOf(table)).toBe(0);
  });

  it('still fails permanently on a duplicate key no attempt of the task committed', async () => {
    const table = server.tableName('taken');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (id INTEGER PRIMARY KEY, name VARCHAR(20))`,
    );
    await server.exec(`INSERT INTO ${server.sqlName(table)} (id, name) VALUES (2, 'there')`);
    const sink = sinkFor(table, 'taken');
    const error = await sink
      .write(
        [
          { id: 1, name: 'Ada' },
          { id: 2, name: 'Grace' },
        ],
        [1, 2],
      )
      .catch((e: unknown) => e);
    await sink.abort();

    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ permanent: true });
    expect(await countOf(table)).toBe(1);
  });

  it('aborts at once while an insert waits for a lock, instead of queuing a rollback behind it', async () => {
    const table = server.tableName('abort_blocked');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (id INTEGER PRIMARY KEY)`);
    const release = await holdOpen(server, `INSERT INTO ${server.sqlName(table)} (id) VALUES (?)`, [
      1,
    ]);
    try {
      const sink = sinkFor(table, 'abort-blocked', { timeoutMs: 20_000 });
      const write = sink.write([{ id: 1 }], [1]).catch((e: unknown) => e);
      await waitForBlockedInsert(server, table);
      const started = Date.now();
      await sink.abort();
      expect(Date.now() - started).toBeLessThan(2_000);

      const error = await write;
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ permanent: false });
    } finally {
      await release();
    }
    expect(await countOf(table)).toBe(0);
  });
});
