import { MongoClient } from 'mongodb';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import {
  parseConnectionString,
  type ConnectionConfig,
  type DataSourceType,
} from './connection-string';
import { describeDatabase } from './metadata';
import { NetworkPolicy } from './network-policy';

const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });

function config(type: DataSourceType, raw: string): ConnectionConfig {
  const parsed = parseConnectionString(type, raw);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: the integration setup starts the test databases`);
  return value;
};

describe('describeDatabase against real servers', () => {
  const table = uniqueName('meta').replace(/-/g, '_');

  it('lists a PostgreSQL table with its columns, types and the planner’s row estimate', async () => {
    const url = env('CLOUDFLOW_TEST_POSTGRES_URL');
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(
        `CREATE TABLE ${table} (id integer PRIMARY KEY, name text NOT NULL, amount numeric(10,2))`,
      );
      await client.query(
        `INSERT INTO ${table} SELECT g, 'n' || g, g * 1.5 FROM generate_series(1, 250) g`,
      );
      await client.query(`ANALYZE ${table}`);
      const metadata = await describeDatabase(config('postgres', url), {
        policy,
        timeoutMs: 10_000,
      });
      expect(metadata.driver).toBe('postgres');
      expect(metadata.tables.find((t) => t.name === table)).toEqual({
        name: table,
        rowEstimate: 250,
        columns: [
          { name: 'id', type: 'integer', nullable: false },
          { name: 'name', type: 'text', nullable: false },
          { name: 'amount', type: 'numeric', nullable: true },
        ],
      });
    } finally {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
    }
  });

  it('lists a MariaDB table with its columns and an estimate', async () => {
    const url = env('CLOUDFLOW_TEST_MYSQL_URL');
    const connection = await createConnection(url);
    try {
      await connection.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, email VARCHAR(200) NULL)`);
      await connection.query(`INSERT INTO ${table} VALUES (1, 'a@x'), (2, NULL), (3, 'c@x')`);
      await connection.query(`ANALYZE TABLE ${table}`);
      const metadata = await describeDatabase(config('mysql', url), { policy, timeoutMs: 10_000 });
      const described = metadata.tables.find((t) => t.name === table);
      expect(described?.columns).toEqual([
        { name: 'id', type: 'int(11)', nullable: false },
        { name: 'email', type: 'varchar(200)', nullable: true },
      ]);
      expect(described?.rowEstimate).toBe(3);
    } finally {
      await connection.query(`DROP TABLE IF EXISTS ${table}`);
      await connection.end();
    }
  });

  it('lists a MongoDB collection with the fields of its documents and their types', async () => {
    const database = uniqueName('meta');
    const url = withDatabase(env('MONGO_URL'), database);
    const client = await MongoClient.connect(url);
    try {
      await client
        .db()
        .collection('people')
        .insertMany([
          { name: 'Ada', born: 1815, tags: ['math'] },
          { name: 'Grace', born: null },
        ]);
      const metadata = await describeDatabase(config('mongodb', url), {
        policy,
        timeoutMs: 10_000,
      });
      expect(metadata.tables).toEqual([
        {
          name: 'people',
          rowEstimate: 2,
          columns: [
            { name: '_id', type: 'objectid', nullable: false },
            { name: 'name', type: 'string', nullable: false },
            { name: 'born', type: 'number', nullable: true },
            { name: 'tags', type: 'array', nullable: true },
          ],
        },
      ]);
    } finally {
      await client.db().dropDatabase();
      await client.close();
    }
  });

  it('refuses a metadata address before connecting', async () => {
    await expect(
      describeDatabase(config('postgres', 'postgres://u:p@169.254.169.254/x'), {
        policy,
        timeoutMs: 2_000,
      }),
    ).rejects.toThrow(/link-local/);
  });
});
