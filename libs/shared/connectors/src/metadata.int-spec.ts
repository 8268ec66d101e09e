import { MongoClient } from 'mongodb';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DataSourceMetadata } from '@cloudflow/contracts';
import { testEnv, uniqueName, withDatabase } from '@cloudflow/testing';
import {
  parseConnectionString,
  type ConnectionConfig,
  type DataSourceType,
} from './connection-string';
import { describeSource } from './metadata';
import { NetworkPolicy } from './network-policy';

const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });

function config(type: DataSourceType, raw: string): ConnectionConfig {
  const parsed = parseConnectionString(type, raw);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

function tablesOf(metadata: DataSourceMetadata) {
  if (metadata.kind !== 'database') throw new Error(`expected a database, got a ${metadata.kind}`);
  return metadata.tables;
}

describe('describeSource against real servers', () => {
  const table = uniqueName('meta').replace(/-/g, '_');

  it('lists a PostgreSQL table with its columns, types and the planner’s row estimate', async () => {
    const url = testEnv('CLOUDFLOW_TEST_POSTGRES_URL');
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
      const metadata = await describeSource(config('postgres', url), {
        policy,
        timeoutMs: 10_000,
      });
      expect(metadata.driver).toBe('postgres');
      expect(tablesOf(metadata).find((t) => t.name === table)).toEqual({
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
    const url = testEnv('CLOUDFLOW_TEST_MYSQL_URL');
    const connection = await createConnection(url);
    try {
      await connection.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, email VARCHAR(200) NULL)`);
      await connection.query(`INSERT INTO ${table} VALUES (1, 'a@x'), (2, NULL), (3, 'c@x')`);
      await connection.query(`ANALYZE TABLE ${table}`);
      const metadata = await describeSource(config('mysql', url), { policy, timeoutMs: 10_000 });
      const described = tablesOf(metadata).find((t) => t.name === table);
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
    const url = withDatabase(testEnv('MONGO_URL'), database);
    const client = await MongoClient.connect(url);
    try {
      await client
        .db()
        .collection('people')
        .insertMany([
          { name: 'Ada', born: 1815, tags: ['math'] },
          { name: 'Grace', born: null },
        ]);
      const metadata = await describeSource(config('mongodb', url), {
        policy,
        timeoutMs: 10_000,
      });
      expect(tablesOf(metadata)).toEqual([
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

  it('lists a MongoDB collection on a server that checks passwords, signed in as its user', async () => {
    // The test user was created in 'cloudflow': authSource says so for any other database.
    const url = new URL(withDatabase(testEnv('CLOUDFLOW_TEST_MONGO_AUTH_URL'), uniqueName('meta')));
    url.searchParams.set('authSource', 'cloudflow');
    const client = await MongoClient.connect(url.toString());
    try {
      await client
        .db()
        .collection('orders')
        .insertMany([
          { sku: 'a-1', quantity: 2 },
          { sku: 'b-2', quantity: 1, note: 'gift' },
        ]);
      const metadata = await describeSource(config('mongodb', url.toString()), {
        policy,
        timeoutMs: 10_000,
      });
      expect(tablesOf(metadata)).toEqual([
        {
          name: 'orders',
          rowEstimate: 2,
          columns: [
            { name: '_id', type: 'objectid', nullable: false },
            { name: 'sku', type: 'string', nullable: false },
            { name: 'quantity', type: 'number', nullable: false },
            { name: 'note', type: 'string', nullable: true },
          ],
        },
      ]);
      const wrong = new URL(url);
      wrong.password = 'not-the-password-xyz';
      await expect(
        describeSource(config('mongodb', wrong.toString()), { policy, timeoutMs: 10_000 }),
      ).rejects.toMatchObject({ code: 18 });
    } finally {
      await client.db().dropDatabase();
      await client.close();
    }
  });

  it('refuses a metadata address before connecting', async () => {
    await expect(
      describeSource(config('postgres', 'postgres://u:p@169.254.169.254/x'), {
        policy,
        timeoutMs: 2_000,
      }),
    ).rejects.toThrow(/link-local/);
  });

  it('lists the objects of an S3 bucket under its prefix, with sizes', async () => {
    const endpoint = testEnv('CLOUDFLOW_TEST_S3_ENDPOINT');
    const bucket = uniqueName('meta').toLowerCase().replace(/_/g, '-');
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'in/data.csv', Body: 'id,name\n1,Ada\n' }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other.txt', Body: 'x' }));
    s3.destroy();
    const metadata = await describeSource(
      config('s3', `s3://test:test@${bucket}/in/?endpoint=${encodeURIComponent(endpoint)}`),
      { policy, timeoutMs: 10_000 },
    );
    expect(metadata).toEqual({
      kind: 'bucket',
      driver: 's3',
      bucket,
      prefix: 'in/',
      objects: [{ key: 'in/data.csv', size: 14, lastModified: expect.any(String) }],
      truncated: false,
    });
  });
});
