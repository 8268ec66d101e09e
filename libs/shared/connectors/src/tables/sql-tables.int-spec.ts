import { createServer, type AddressInfo } from 'node:net';
import { createConnection, type Connection as MysqlConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { freePort, testEnv, uniqueName } from '@cloudflow/testing';
import { parseConnectionString, type ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { NetworkPolicy } from '../network-policy';
import type { KeyRange, ResolvedTableSpec, Row } from './model';
import { inspectTable, planKeyRanges, readKeyRange } from './tables';

/** The test servers listen on loopback, which a deployment must allow explicitly. */
const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });
const access = { policy, timeoutMs: 10_000 };

function configOf(driver: 'postgres' | 'mysql', url: string): ConnectionConfig {
  const parsed = parseConnectionString(driver, url);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

/** The test's own hands on a server: plain driver connections, for setting up and checking. */
interface Server {
  driver: 'postgres' | 'mysql';
  url: string;
  /** Where the test's tables live: a schema of its own in PostgreSQL, the database in MySQL. */
  tableName(base: string): string;
  /** The SQL name of a table from `tableName`. */
  sqlName(table: string): string;
  exec(sql: string, values?: unknown[]): Promise<Row[]>;
  /** Inserts `rows` (objects with the same fields) in one statement. */
  insert(table: string, rows: Row[]): Promise<void>;
  /** A text type whose comparison ties 'a', 'A' and 'á' (MySQL's also 'a '); `long` holds more than the server sorts on. */
  looseText(long: boolean): string;
  close(): Promise<void>;
}

async function postgresServer(): Promise<Server> {
  const url = testEnv('CLOUDFLOW_TEST_POSTGRES_URL');
  const client = new PgClient({ connectionString: url });
  await client.connect();
  const schema = uniqueName('cf_tables');
  await client.query(`CREATE SCHEMA ${schema}`);
  // A nondeterministic collation: equal strings need not be the same string.
  await client.query(
    `CREATE COLLATION ${schema}.loose (provider = icu, locale = 'und-u-ks-level1', deterministic = false)`,
  );
  const exec = async (sql: string, values: unknown[] = []) =>
    (await client.query<Row>(sql, values)).rows;
  return {
    driver: 'postgres',
    url,
    tableName: (base) => `${schema}.${base}`,
    sqlName: (table) =>
      table
        .split('.')
        .map((part) => client.escapeIdentifier(part))
        .join('.'),
    exec,
    insert: async (table, rows) => {
      const fields = Object.keys(rows[0] ?? {});
      const values: unknown[] = [];
      const tuples = rows.map(
        (row) =>
          `(${fields.map((f) => `$${values.push(row[f] === null ? null : row[f])}`).join(', ')})`,
      );
      await exec(
        `INSERT INTO ${table} (${fields.map((f) => client.escapeIdentifier(f)).join(', ')}) VALUES ${tuples.join(', ')}`,
        values,
      );
    },
    looseText: () => `TEXT COLLATE ${schema}.loose`,
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
    url,
    tableName: (base) => {
      const name = uniqueName(base);
      created.push(name);
      return name;
    },
    sqlName: (table) => connection.escapeId(table),
    exec,
    insert: async (table, rows) => {
      const fields = Object.keys(rows[0] ?? {});
      await exec(
        `INSERT INTO ${table} (${fields.map((f) => connection.escapeId(f)).join(', ')}) VALUES ?`,
        [rows.map((row) => fields.map((f) => row[f]))],
      );
    },
    looseText: (long) =>
      `${long ? 'TEXT' : 'VARCHAR(20)'} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`,
    close: async () => {
      for (const name of created) await exec(`DROP TABLE IF EXISTS ${connection.escapeId(name)}`);
      await connection.end();
    },
  };
}

/** Plans `spec` and reads every range (each bound passed through JSON, as the scheduler stores it). */
async function readAll(
  config: ConnectionConfig,
  spec: ResolvedTableSpec,
  chunkRows: number,
  batchRows = 128,
): Promise<{ ranges: KeyRange[]; rows: Row[]; lines: number[] }> {
  const ranges: KeyRange[] = [];
  for await (const range of planKeyRanges(config, spec, { ...access, chunkRows })) {
    ranges.push(JSON.parse(JSON.stringify(range)) as KeyRange);
  }
  const rows: Row[] = [];
  const lines: number[] = [];
  for (const range of ranges) {
    for await (const batch of readKeyRange(config, spec, range, { ...access, batchRows })) {
      expect(batch.rows.length).toBeLessThanOrEqual(batchRows);
      expect(batch.bytes).toBeGreaterThan(0);
      rows.push(...batch.rows);
      lines.push(...batch.lines);
    }
  }
  return { ranges, rows, lines };
}

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function failureOf(work: () => Promise<unknown>): Promise<ConnectorError> {
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

describe.each([
  ['PostgreSQL', postgresServer],
  ['MariaDB', mysqlServer],
] as const)('database tables as job input, against a real %s server', (_name, open) => {
  let server: Server;
  let config: ConnectionConfig;

  beforeAll(async () => {
    server = await open();
    config = configOf(server.driver, server.url);
  });

  afterAll(async () => {
    await server?.close();
  });

  /** A table of `n` rows with an integer primary key (ids 10, 20, ... when `step` is 10). */
  async function numberedTable(base: string, n: number, step = 1): Promise<string> {
    const table = server.tableName(base);
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(12, 2))`,
    );
    const rows = oneToN(n).map((i) => ({ id: i * step, name: `row ${i}`, amount: `${i}.25` }));
    for (let i = 0; i < rows.length; i += 1000) {
      await server.insert(server.sqlName(table), rows.slice(i, i + 1000));
    }
    return table;
  }

  it('inspects a table: its columns, its primary key as split key and an estimate', async () => {
    const table = await numberedTable('inspect', 20);
    const shape = await inspectTable(config, { driver: server.driver, table }, access);
    expect(shape.columns).toEqual(['id', 'name', 'amount']);
    expect(shape.splitKey).toBe('id');
    expect(shape.rowEstimate === null || typeof shape.rowEstimate === 'number').toBe(true);
  });

  it('refuses a missing table, an unknown split key and a nullable one, permanently', async () => {
    const table = await numberedTable('refuse', 3);
    const missing = await failureOf(() =>
      inspectTable(config, { driver: server.driver, table: `${table}_nope` }, access),
    );
    expect(missing.permanent).toBe(true);
    expect(missing.message).toContain('does not exist');
    const unknown = await failureOf(() =>
      inspectTable(config, { driver: server.driver, table, splitKey: 'nope' }, access),
    );
    expect(unknown).toMatchObject({ permanent: true });
    expect(unknown.message).toContain("no column 'nope'");
    const nullable = await failureOf(() =>
      inspectTable(config, { driver: server.driver, table, splitKey: 'amount' }, access),
    );
    expect(nullable.permanent).toBe(true);
    expect(nullable.message).toContain('may be NULL');
  });

  it('splits 2,500 rows into ranges of 300 and reads every row once, numbered 1..N in key order', async () => {
    const table = await numberedTable('numbered', 2_500);
    const spec = { driver: server.driver, table, splitKey: 'id' };
    const { ranges, rows, lines } = await readAll(config, spec, 300);

    expect(ranges.map((r) => r.rows)).toEqual([...Array<number>(8).fill(300), 100]);
    expect(ranges.map((r) => r.firstLine)).toEqual(oneToN(9).map((i) => (i - 1) * 300 + 1));
    expect(ranges[0]?.after).toBeNull();
    expect(ranges.at(-1)?.upTo).toBe('2500');
    expect(lines).toEqual(oneToN(2_500));
    expect(rows.map((r) => Number(r['id']))).toEqual(oneToN(2_500));
    // Exact numbers come out as strings, never rounded.
    expect(rows[0]).toEqual({ id: '1', name: 'row 1', amount: '1.25' });
  });

  it('splits by a text key in the server’s own collation order', async () => {
    const table = server.tableName('texts');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (code VARCHAR(40) PRIMARY KEY, n INTEGER NOT NULL)`,
    );
    const codes = oneToN(700).map((i) => `${['Zeta', 'alpha', 'Émile', 'b c', '9'][i % 5]}-${i}`);
    await server.insert(
      server.sqlName(table),
      codes.map((code, n) => ({ code, n })),
    );
    const shape = await inspectTable(config, { driver: server.driver, table }, access);
    expect(shape.splitKey).toBe('code');

    const { ranges, rows, lines } = await readAll(
      config,
      { ...shape, driver: server.driver, table },
      64,
    );
    const serverOrder = await server.exec(
      `SELECT code FROM ${server.sqlName(table)} ORDER BY code`,
    );
    expect(ranges.length).toBe(Math.ceil(700 / 64));
    expect(rows.map((r) => r['code'])).toEqual(serverOrder.map((r) => r['code']));
    expect(lines).toEqual(oneToN(700));
  });

  it('splits by a key many rows share, numbering the same rows the same way on every read', async () => {
    const table = server.tableName('shared_key');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (grp INTEGER NOT NULL, label VARCHAR(20) NOT NULL)`,
    );
    await server.insert(
      server.sqlName(table),
      oneToN(1_000).map((i) => ({ grp: i % 7, label: `l${(i * 7919) % 1000}` })),
    );
    const spec = { driver: server.driver, table, splitKey: 'grp' };
    const first = await readAll(config, spec, 100, 33);
    const second = await readAll(config, spec, 100, 50);

    expect(first.ranges.reduce((sum, r) => sum + r.rows, 0)).toBe(1_000);
    expect(first.lines).toEqual(oneToN(1_000));
    const groups = first.rows.map((r) => Number(r['grp']));
    expect(groups).toEqual([...groups].sort((a, b) => a - b));
    expect(new Set(first.rows.map((r) => r['label'])).size).toBe(1_000);
    expect(second.rows).toEqual(first.rows);
  });

  it('reads a table without a primary key as one task, ordered by all its columns', async () => {
    const table = server.tableName('no_key');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (a INTEGER, b VARCHAR(10))`);
    await server.insert(server.sqlName(table), [
      { a: 2, b: 'x' },
      { a: 1, b: 'z' },
      { a: 1, b: 'y' },
      { a: null, b: 'n' },
      { a: 2, b: 'x' },
    ]);
    const shape = await inspectTable(config, { driver: server.driver, table }, access);
    expect(shape.splitKey).toBeNull();

    const spec = { driver: server.driver, table, splitKey: null };
    const { ranges, rows, lines } = await readAll(config, spec, 2, 2);
    expect(ranges).toEqual([{ after: null, upTo: null, firstLine: 1, rows: 5 }]);
    expect(lines).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(rows.map((r) => JSON.stringify(r))).size).toBe(4);
    expect((await readAll(config, spec, 2, 3)).rows).toEqual(rows);
  });

  it('reads rows that tie in the table’s collation in one order, whatever order they were stored in', async () => {
    const table = server.tableName('ties');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (grp INTEGER NOT NULL, name ${server.looseText(false)}, body ${server.looseText(true)})`,
    );
    // Beyond the first 1,024 bytes (MySQL's max_sort_length), only the end tells these bodies apart.
    const long = 'x'.repeat(1_100);
    const stored: Row[] = [
      { grp: 1, name: 'a', body: 'same' },
      { grp: 1, name: 'A', body: 'same' },
      { grp: 1, name: 'a ', body: 'same' },
      { grp: 1, name: 'á', body: 'same' },
      { grp: 2, name: 'b', body: `${long}1` },
      { grp: 2, name: 'b', body: `${long}2` },
      { grp: 2, name: 'b', body: `${long}Y` },
      { grp: 2, name: 'b', body: `${long}y` },
    ];
    const asText = (rows: Row[]) =>
      rows.map((r) => JSON.stringify([Number(r['grp']), r['name'], r['body']]));
    for (const splitKey of [null, 'grp']) {
      const spec = { driver: server.driver, table, splitKey };
      await server.exec(`DELETE FROM ${server.sqlName(table)}`);
      await server.insert(server.sqlName(table), stored);
      const first = await readAll(config, spec, 3);
      // The same rows again, stored the other way round.
      await server.exec(`DELETE FROM ${server.sqlName(table)}`);
      await server.insert(server.sqlName(table), [...stored].reverse());
      const second = await readAll(config, spec, 3);

      expect(asText(first.rows).sort()).toEqual(asText(stored).sort());
      expect(first.lines).toEqual(oneToN(stored.length));
      expect(asText(second.rows)).toEqual(asText(first.rows));
    }
  });

  it('plans no range for an empty table', async () => {
    const table = await numberedTable('empty', 0);
    const { ranges } = await readAll(config, { driver: server.driver, table, splitKey: 'id' }, 10);
    expect(ranges).toEqual([]);
  });

  it('fails permanently, asking for a re-run, when rows appear inside a planned range', async () => {
    const table = await numberedTable('changed', 100, 10);
    const spec = { driver: server.driver, table, splitKey: 'id' };
    const ranges: KeyRange[] = [];
    for await (const range of planKeyRanges(config, spec, { ...access, chunkRows: 50 })) {
      ranges.push(range);
    }
    expect(ranges.map((r) => [r.after, r.upTo, r.firstLine, r.rows])).toEqual([
      [null, '500', 1, 50],
      ['500', '1000', 51, 50],
    ]);
    await server.insert(server.sqlName(table), [{ id: 15, name: 'late', amount: null }]);

    const error = await failureOf(async () => {
      for await (const _batch of readKeyRange(config, spec, ranges[0]!, {
        ...access,
        batchRows: 20,
      })) {
        // reading
      }
    });
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/changed while the job ran.*re-run the job/);
  });

  it('stops reading when the task is stopped, with the task’s own reason', async () => {
    const table = await numberedTable('stopped', 1_000);
    const controller = new AbortController();
    const range = { after: null, upTo: '1000', firstLine: 1, rows: 1_000 };
    const batches = readKeyRange(config, { driver: server.driver, table, splitKey: 'id' }, range, {
      ...access,
      batchRows: 10,
      signal: controller.signal,
    });
    const seen: number[] = [];
    const outcome = await (async () => {
      for await (const batch of batches) {
        seen.push(...batch.lines);
        controller.abort(new Error('job cancelled'));
      }
    })().catch((e: unknown) => e);
    expect(outcome).toEqual(new Error('job cancelled'));
    expect(seen).toEqual(oneToN(10));
  });

  it('gives up on a server that accepts connections and never answers, within its bound', async () => {
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const url = new URL(server.url);
    url.port = String(port);
    const started = Date.now();
    try {
      const error = await failureOf(() =>
        inspectTable(
          configOf(server.driver, url.toString()),
          { driver: server.driver, table: 't' },
          { policy, timeoutMs: 1_000 },
        ),
      );
      expect(error.permanent).toBe(false);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });

  it('refuses a wrong password permanently, without quoting it', async () => {
    const url = new URL(server.url);
    url.password = 'wrong-password-4711';
    const error = await failureOf(() =>
      inspectTable(
        configOf(server.driver, url.toString()),
        { driver: server.driver, table: 't' },
        access,
      ),
    );
    expect(error.permanent).toBe(true);
    expect(error.message).toBe(`the user 'cloudflow' or its password is wrong`);
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain(
      'wrong-password-4711',
    );
  });

  it('refuses an unknown database and a user without access to it, permanently', async () => {
    const unknown = new URL(server.url);
    unknown.pathname = '/no_such_db';
    const missing = await failureOf(() =>
      inspectTable(
        configOf(server.driver, unknown.toString()),
        { driver: server.driver, table: 't' },
        access,
      ),
    );
    expect(missing.permanent).toBe(true);
    expect(missing.message).toContain("the database 'no_such_db'");

    const stranger = new URL(server.url);
    stranger.username = testEnv('CLOUDFLOW_TEST_NOACCESS_USER');
    const refused = await failureOf(() =>
      inspectTable(
        configOf(server.driver, stranger.toString()),
        { driver: server.driver, table: 't' },
        access,
      ),
    );
    expect(refused.permanent).toBe(true);
    expect(refused.message).toContain(testEnv('CLOUDFLOW_TEST_NOACCESS_USER'));
  });

  it('reports a closed port as worth retrying', async () => {
    const url = new URL(server.url);
    const port = await freePort();
    url.port = String(port);
    const error = await failureOf(() =>
      inspectTable(
        configOf(server.driver, url.toString()),
        { driver: server.driver, table: 't' },
        access,
      ),
    );
    expect(error.permanent).toBe(false);
    expect(error.message).toBe(`nothing is listening on 127.0.0.1:${port} (connection refused)`);
  });
});

describe('PostgreSQL values as plain JSON', () => {
  let server: Server;
  let config: ConnectionConfig;

  beforeAll(async () => {
    server = await postgresServer();
    config = configOf('postgres', server.url);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('keeps every digit and microsecond, and gives bytes as base64 and JSON as objects', async () => {
    const table = server.tableName('typed');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (
         id timestamptz PRIMARY KEY, big bigint, exact numeric(30, 10), local timestamp, day date,
         raw bytea, doc jsonb, tags text[], flag boolean, ratio double precision)`,
    );
    await server.exec(
      `INSERT INTO ${server.sqlName(table)} VALUES
         ('2024-03-01 12:00:00.123456+02', 9007199254740993, 12345678901234567890.0123456789,
          '2024-03-01 23:59:59.999999', '2024-02-29', '\\x00ff', '{"a": [1, {"b": null}]}',
          '{x,y}', true, 0.5),
         ('2024-03-01 12:00:00.123457+02', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    const { rows, ranges } = await readAll(
      config,
      { driver: 'postgres', table, splitKey: 'id' },
      1,
    );
    expect(ranges.map((r) => r.upTo)).toEqual([
      '2024-03-01 10:00:00.123456+00',
      '2024-03-01 10:00:00.123457+00',
    ]);
    expect(rows[0]).toEqual({
      id: '2024-03-01T10:00:00.123456Z',
      big: '9007199254740993',
      exact: '12345678901234567890.0123456789',
      local: '2024-03-01T23:59:59.999999',
      day: '2024-02-29',
      raw: 'AP8=',
      doc: { a: [1, { b: null }] },
      tags: ['x', 'y'],
      flag: true,
      ratio: 0.5,
    });
    expect(rows).toHaveLength(2);
  });
  it('splits by a float key exactly, even for a role whose sessions write floats with fewer digits', async () => {
    const table = server.tableName('floats');
    await server.exec(`CREATE TABLE ${server.sqlName(table)} (k float8 PRIMARY KEY)`);
    const keys = [0.1, 0.2, 0.1 + 0.2, 0.3, 1 / 3, 2 / 3];
    await server.insert(
      server.sqlName(table),
      keys.map((k) => ({ k })),
    );
    // With extra_float_digits = 0, 0.1 + 0.2 would be written '0.3', like 0.3 itself.
    const role = uniqueName('cf_digits');
    const url = new URL(server.url);
    const [schema] = table.split('.');
    await server.exec(`CREATE ROLE ${role} LOGIN PASSWORD 'digits-pw'`);
    try {
      await server.exec(`ALTER ROLE ${role} SET extra_float_digits = 0`);
      await server.exec(`GRANT CONNECT ON DATABASE ${url.pathname.slice(1)} TO ${role}`);
      await server.exec(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
      await server.exec(`GRANT SELECT ON ${server.sqlName(table)} TO ${role}`);
      url.username = role;
      url.password = 'digits-pw';
      const spec = { driver: 'postgres' as const, table, splitKey: 'k' };
      const roleConfig = configOf('postgres', url.toString());

      const ranges: KeyRange[] = [];
      for await (const range of planKeyRanges(roleConfig, spec, { ...access, chunkRows: 1 })) {
        ranges.push(JSON.parse(JSON.stringify(range)) as KeyRange);
        // Two keys written alike would make planning go round in circles.
        if (ranges.length > keys.length) break;
      }
      const rows: Row[] = [];
      for (const range of ranges) {
        for await (const batch of readKeyRange(roleConfig, spec, range, {
          ...access,
          batchRows: 10,
        })) {
          rows.push(...batch.rows);
        }
      }
      expect(ranges.map((r) => Number(r.upTo))).toEqual([...keys].sort((a, b) => a - b));
      expect(rows.map((r) => r['k'])).toEqual([...keys].sort((a, b) => a - b));
    } finally {
      await server.exec(`DROP OWNED BY ${role}`);
      await server.exec(`DROP ROLE ${role}`);
    }
  });
});

describe('MariaDB values as plain JSON', () => {
  let server: Server;
  let config: ConnectionConfig;

  beforeAll(async () => {
    server = await mysqlServer();
    config = configOf('mysql', server.url);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('splits by BIGINT keys above 2^53 exactly, with dates, decimals, bytes and JSON as plain values', async () => {
    const table = server.tableName('typed');
    await server.exec(
      `CREATE TABLE ${server.sqlName(table)} (
         id BIGINT UNSIGNED PRIMARY KEY, exact DECIMAL(30, 10), stamp TIMESTAMP(6) NULL,
         local DATETIME(3), day DATE, raw VARBINARY(10), doc JSON, flag BOOLEAN)`,
    );
    await server.exec(
      `INSERT INTO ${server.sqlName(table)} VALUES
         (9007199254740993, 12345678901234567890.0123456789, '2024-03-01 10:00:00.123456',
          '2024-03-01 23:59:59.999', '2024-02-29', 0x00ff, '{"a": [1, {"b": null}]}', TRUE),
         (9007199254740992, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (9007199254740994, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    const { rows, ranges, lines } = await readAll(
      config,
      { driver: 'mysql', table, splitKey: 'id' },
      1,
    );
    expect(ranges.map((r) => r.upTo)).toEqual([
      '9007199254740992',
      '9007199254740993',
      '9007199254740994',
    ]);
    expect(lines).toEqual([1, 2, 3]);
    expect(rows.map((r) => r['id'])).toEqual([
      '9007199254740992',
      '9007199254740993',
      '9007199254740994',
    ]);
    expect(rows[1]).toEqual({
      id: '9007199254740993',
      exact: '12345678901234567890.0123456789',
      stamp: '2024-03-01T10:00:00.123456Z',
      local: '2024-03-01T23:59:59.999',
      day: '2024-02-29',
      raw: 'AP8=',
      doc: { a: [1, { b: null }] },
      flag: 1,
    });
  });
});
