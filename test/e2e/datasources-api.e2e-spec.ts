import type {
  ConnectionTestResult,
  CreatedApiKey,
  DataSource,
  ErrorEnvelope,
  DataSourceMetadata,
  Page,
} from '@cloudflow/contracts';
import { MongoClient } from 'mongodb';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Stack, STACK_MODE } from './support/stack';

const SPEC_BODY = {
  type: 'database',
  connectionString: 'Server=fake-db;Database=fake;User Id=fake;Password=fake;',
};

/** `/api/v1/datasources`: the published body, CRUD, redaction, bad strings, scopes. */
describe(`Data sources API (${STACK_MODE})`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('accepts the published body and shows the connection string with the password redacted', async () => {
    const res = await stack.api().post<DataSource>('/api/v1/datasources', SPEC_BODY);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/datasources/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^ds_/),
      name: 'postgres fake-db',
      type: 'database',
      driver: 'postgres',
      connectionString: 'postgres://fake:****@fake-db:5432/fake',
      createdAt: expect.any(String),
      updatedAt: res.body.createdAt,
    });
  });

  it('lists, shows, updates and deletes a data source, never answering or storing its password', async () => {
    const password = 'hunter2-canary-pw';
    const created = await stack.api().post<DataSource>('/api/v1/datasources', {
      type: 'postgres',
      name: 'orders',
      connectionString: `postgres://app:${password}@db.internal:6543/orders?sslmode=require`,
    });
    expect(created.status).toBe(201);
    expect(created.body.connectionString).toBe(
      'postgres://app:****@db.internal:6543/orders?sslmode=require',
    );
    const id = created.body.id;

    const listed = await stack.api().get<Page<DataSource>>('/api/v1/datasources?limit=100');
    expect(listed.body.items.map((d) => d.id)).toContain(id);
    const shown = await stack.api().get<DataSource>(`/api/v1/datasources/${id}`);
    expect(shown.body).toEqual(created.body);

    const renamed = await stack
      .api()
      .put<DataSource>(`/api/v1/datasources/${id}`, { name: 'orders (replica)' });
    expect(renamed.body).toMatchObject({
      name: 'orders (replica)',
      connectionString: created.body.connectionString,
    });
    const moved = await stack.api().put<DataSource>(`/api/v1/datasources/${id}`, {
      type: 'mysql',
      connectionString: `Server=shop-db;Database=shop;Uid=app;Pwd=${password}`,
    });
    expect(moved.body).toMatchObject({
      type: 'mysql',
      driver: 'mysql',
      connectionString: 'mysql://app:****@shop-db:3306/shop',
    });

    for (const res of [created, listed, shown, renamed, moved])
      expect(res.text).not.toContain(password);
    const mongo = await MongoClient.connect(stack.mongoUrl);
    try {
      const stored = await mongo
        .db()
        .collection('data_sources')
        .findOne({ _id: id as never });
      expect(stored).not.toBeNull();
      expect(JSON.stringify(stored)).not.toContain(password);
    } finally {
      await mongo.close();
    }

    expect((await stack.api().delete(`/api/v1/datasources/${id}`)).status).toBe(204);
    const gone = await stack.api().get<ErrorEnvelope>(`/api/v1/datasources/${id}`);
    expect([gone.status, gone.body.code]).toEqual([404, 4040]);
  });

  it.each([
    [
      { type: 'database', connectionString: 'Server=db;Port=abc;Password=hunter2' },
      "Port 'abc' is not a number",
    ],
    [
      { type: 'postgres', connectionString: 'oracle://u:hunter2@db/x' },
      "unsupported scheme 'oracle://'",
    ],
    [
      { type: 'postgres', connectionString: 'postgres://u:hunter2@db/x?sslrootcert=/etc/passwd' },
      "unknown option 'sslrootcert' for postgres",
    ],
    [
      { type: 'mysql', connectionString: 'postgres://u:hunter2@db/x' },
      "type 'mysql' does not match a postgres connection string",
    ],
    [
      { type: 'file', connectionString: '/data/../../etc/passwd' },
      "a file path may not contain '..'",
    ],
  ])('answers 400/4001 naming what is wrong, without the password: %j', async (body, expected) => {
    const res = await stack.api().post<ErrorEnvelope>('/api/v1/datasources', body);
    expect([res.status, res.body.code]).toEqual([400, 4001]);
    expect(res.body.details).toContain(expected);
    expect(res.text).not.toContain('hunter2');
  });

  it('refuses an unknown type or a missing connection string before the broker', async () => {
    const res = await stack
      .api()
      .post<ErrorEnvelope>('/api/v1/datasources', { type: 'oracle', connectionString: 'x' });
    expect([res.status, res.body.code]).toEqual([400, 4002]);
    const missing = await stack
      .api()
      .post<ErrorEnvelope>('/api/v1/datasources', { type: 'postgres' });
    expect([missing.status, missing.body.code]).toEqual([400, 4002]);
  });

  it('lets a read-only key list but not create, change or delete', async () => {
    const { body: key } = await stack
      .api()
      .post<CreatedApiKey>('/api/v1/api-keys', { name: 'ro', scopes: ['read'] });
    const reader = stack.api(`ApiKey ${key.key}`);
    const created = await stack.api().post<DataSource>('/api/v1/datasources', SPEC_BODY);
    expect((await reader.get('/api/v1/datasources')).status).toBe(200);
    expect((await reader.get(`/api/v1/datasources/${created.body.id}`)).status).toBe(200);
    for (const res of [
      await reader.post<ErrorEnvelope>('/api/v1/datasources', SPEC_BODY),
      await reader.put<ErrorEnvelope>(`/api/v1/datasources/${created.body.id}`, { name: 'x' }),
      await reader.delete<ErrorEnvelope>(`/api/v1/datasources/${created.body.id}`),
    ]) {
      expect([res.status, res.body.code]).toEqual([403, 4030]);
    }
  });

  describe('connection tests', () => {
    const postgres = () => new URL(process.env['CLOUDFLOW_TEST_POSTGRES_URL']!);
    const stages = (result: ConnectionTestResult) =>
      result.stages.map((s) => `${s.stage}:${s.ok ? 'ok' : 'failed'}`);

    it('answers the published test request with the stage that failed (fake-db does not resolve)', async () => {
      const res = await stack.api().post<ConnectionTestResult>('/api/v1/datasources/test', {
        connectionString: SPEC_BODY.connectionString,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: false, driver: 'postgres' });
      expect(stages(res.body)).toEqual(['dns:failed']);
      expect(res.body.message).toMatch(/^dns: the host 'fake-db'/);
    });

    it('connects to a real PostgreSQL, and names a wrong password and a closed port', async () => {
      const good = await stack.api().post<ConnectionTestResult>('/api/v1/datasources/test', {
        connectionString: postgres().toString(),
      });
      expect(good.body).toMatchObject({ ok: true, driver: 'postgres' });
      expect(stages(good.body)).toEqual(['dns:ok', 'tcp:ok', 'authentication:ok', 'query:ok']);

      const wrong = postgres();
      wrong.password = 'hunter2-wrong';
      const refused = await stack.api().post<ConnectionTestResult>('/api/v1/datasources/test', {
        connectionString: wrong.toString(),
      });
      expect(stages(refused.body)).toEqual(['dns:ok', 'tcp:ok', 'authentication:failed']);
      expect(refused.text).not.toContain('hunter2');

      const closed = postgres();
      closed.port = '1';
      const nothing = await stack.api().post<ConnectionTestResult>('/api/v1/datasources/test', {
        connectionString: closed.toString(),
      });
      expect(stages(nothing.body)).toEqual(['dns:ok', 'tcp:failed']);
    });

    it('tests a saved data source with its stored credentials', async () => {
      const saved = await stack.api().post<DataSource>('/api/v1/datasources', {
        type: 'mysql',
        connectionString: process.env['CLOUDFLOW_TEST_MYSQL_URL']!,
      });
      const res = await stack
        .api()
        .post<ConnectionTestResult>(`/api/v1/datasources/${saved.body.id}/test`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: true, driver: 'mysql' });
    });

    it.each(['169.254.169.254', '2852039166', '[::ffff:169.254.169.254]'])(
      'refuses the metadata address %s before any connection',
      async (host) => {
        const res = await stack.api().post<ConnectionTestResult>('/api/v1/datasources/test', {
          connectionString: `postgres://u:p@${host}/x`,
        });
        expect(res.status).toBe(200);
        expect(stages(res.body)).toEqual(['policy:failed']);
        expect(res.body.message).toContain('169.254.169.254');
      },
    );
  });

  describe('metadata', () => {
    it('lists the tables of a real PostgreSQL database with columns and row estimates', async () => {
      const url = process.env['CLOUDFLOW_TEST_POSTGRES_URL']!;
      const table = `e2e_meta_${Date.now()}`;
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, city text)`);
        await client.query(`INSERT INTO ${table} SELECT g, 'c' || g FROM generate_series(1, 40) g`);
        await client.query(`ANALYZE ${table}`);
        const saved = await stack
          .api()
          .post<DataSource>('/api/v1/datasources', { type: 'postgres', connectionString: url });
        const res = await stack
          .api()
          .get<DataSourceMetadata>(`/api/v1/datasources/${saved.body.id}/metadata`);
        expect(res.status).toBe(200);
        expect(
          res.body.kind === 'database' && res.body.tables.find((t) => t.name === table),
        ).toEqual({
          name: table,
          rowEstimate: 40,
          columns: [
            { name: 'id', type: 'integer', nullable: false },
            { name: 'city', type: 'text', nullable: true },
          ],
        });
        expect(res.text).not.toContain('cloudflow-test-pw');
      } finally {
        await client.query(`DROP TABLE IF EXISTS ${table}`);
        await client.end();
      }
    });

    it('says which stage fails when the source cannot be reached', async () => {
      const url = new URL(process.env['CLOUDFLOW_TEST_POSTGRES_URL']!);
      url.password = 'not-the-password';
      const saved = await stack.api().post<DataSource>('/api/v1/datasources', {
        type: 'postgres',
        connectionString: url.toString(),
      });
      const res = await stack
        .api()
        .get<ErrorEnvelope>(`/api/v1/datasources/${saved.body.id}/metadata`);
      expect([res.status, res.body.code]).toEqual([503, 5030]);
      expect(res.body.details).toBe(
        "the data source cannot be reached: authentication: the user 'cloudflow' or its password is wrong",
      );
      expect(res.text).not.toContain('not-the-password');
    });
  });

  describe('S3 buckets', () => {
    it('tests an S3 data source and lists its objects with sizes', async () => {
      const endpoint = process.env['CLOUDFLOW_TEST_S3_ENDPOINT']!;
      const bucket = `e2e-${Date.now()}`;
      const s3 = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'data.csv', Body: 'id\n1\n2\n' }));
      s3.destroy();
      const saved = await stack.api().post<DataSource>('/api/v1/datasources', {
        type: 's3',
        connectionString: `s3://AKIATEST:s3-secret-canary@${bucket}/?endpoint=${encodeURIComponent(endpoint)}`,
      });
      expect(saved.status).toBe(201);
      expect(saved.body.connectionString).toContain('s3://AKIATEST:****@');
      const test = await stack
        .api()
        .post<ConnectionTestResult>(`/api/v1/datasources/${saved.body.id}/test`);
      expect(test.body).toMatchObject({ ok: true, driver: 's3' });
      const metadata = await stack
        .api()
        .get<DataSourceMetadata>(`/api/v1/datasources/${saved.body.id}/metadata`);
      expect(metadata.body).toMatchObject({
        kind: 'bucket',
        bucket,
        objects: [{ key: 'data.csv', size: 7 }],
        truncated: false,
      });
      for (const text of [saved.text, test.text, metadata.text])
        expect(text).not.toContain('s3-secret-canary');
    });
  });

  describe('files in the data root', () => {
    it('tests a CSV file data source and describes it: header, inferred types, size, rows', async () => {
      const content = 'id,name,amount,joined\n1,Ada,120.50,2024-01-02\n2,Grace,98,2024-02-03\n';
      stack.writeData('fake/people.csv', content);
      const saved = await stack.api().post<DataSource>('/api/v1/datasources', {
        type: 'file',
        connectionString: '/fake/people.csv',
      });
      expect(saved.body.connectionString).toBe('file:///fake/people.csv');
      const test = await stack
        .api()
        .post<ConnectionTestResult>(`/api/v1/datasources/${saved.body.id}/test`);
      expect(test.body).toMatchObject({ ok: true, driver: 'file' });
      const metadata = await stack
        .api()
        .get<DataSourceMetadata>(`/api/v1/datasources/${saved.body.id}/metadata`);
      expect(metadata.body).toEqual({
        kind: 'file',
        driver: 'file',
        path: '/fake/people.csv',
        format: 'csv',
        size: Buffer.byteLength(content),
        columns: [
          { name: 'id', type: 'integer' },
          { name: 'name', type: 'string' },
          { name: 'amount', type: 'number' },
          { name: 'joined', type: 'date' },
        ],
        rowEstimate: 2,
        exact: true,
      });
    });

    it('never reads outside the data root, even through a symlink', async () => {
      stack.writeData('fake/placeholder.txt', 'x');
      symlinkSync('/etc/passwd', join(stack.dataDir, 'fake/escape.csv'));
      const saved = await stack.api().post<DataSource>('/api/v1/datasources', {
        type: 'file',
        connectionString: '/fake/escape.csv',
      });
      const metadata = await stack
        .api()
        .get<ErrorEnvelope>(`/api/v1/datasources/${saved.body.id}/metadata`);
      expect([metadata.status, metadata.body.code]).toEqual([400, 4001]);
      expect(metadata.body.details).toContain('outside the data root');
      expect(metadata.text).not.toContain('root:x:0:0');
      const test = await stack
        .api()
        .post<ConnectionTestResult>(`/api/v1/datasources/${saved.body.id}/test`);
      expect(test.body.ok).toBe(false);
      expect(test.body.message).toContain('outside the data root');
    });
  });
});
