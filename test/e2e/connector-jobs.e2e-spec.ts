import { createHash, randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import { createConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import type { DataSource, ErrorEnvelope, Job, JobResults } from '@cloudflow/contracts';
import { Stack, STACK_MODE } from './support/stack';
import { createPipeline, submitJob, waitForJob } from './support/jobs';
import { testEnv } from '@cloudflow/testing';

/** Order-independent fingerprint of rows: SHA-256 over their canonical lines, sorted. */
function checksum(rows: string[][]): string {
  const lines = rows.map((r) => JSON.stringify(r)).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/**
 * The input of the S3 job: ids, names with quoted commas and quotes,
 * amounts and a header, so CSV quoting survives the trip into PostgreSQL.
 */
function ordersCsv(count: number): { text: string; rows: string[][] } {
  const rows: string[][] = [];
  const lines = ['id,customer,amount'];
  for (let i = 1; i <= count; i++) {
    const customer = i % 7 === 0 ? `Smith, "J" ${i}` : `customer ${i}`;
    const amount = ((i * 37) % 10_000) / 100;
    rows.push([String(i), customer.toUpperCase(), amount.toFixed(2)]);
    lines.push(`${i},"${customer.replaceAll('"', '""')}",${amount.toFixed(2)}`);
  }
  return { text: `${lines.join('\n')}\n`, rows };
}

/**
 * Pipelines that read and write real systems through data sources: an S3
 * CSV into a PostgreSQL table, a PostgreSQL table into MongoDB, a MariaDB
 * table into an S3 object, each split into several tasks, with exact counts
 * and checksums; and the refusals a user meets when a step does not fit.
 */
describe(`Jobs over data sources (${STACK_MODE}, real PostgreSQL, MariaDB, MongoDB, S3)`, () => {
  let stack: Stack;
  let s3: S3Client;
  let pg: PgClient;
  const bucket = `cf-e2e-${randomUUID().slice(0, 8)}`;
  const suffix = randomUUID().slice(0, 8).replaceAll('-', '');
  const mongoDb = `cloudflow_e2e_sink_${suffix}`;
  const mongoUrl = new URL(testEnv('MONGO_URL'));

  const createDataSource = async (body: object): Promise<DataSource> => {
    const res = await stack.api().post<DataSource>('/api/v1/datasources', body);
    if (res.status !== 201)
      throw new Error(`create data source answered ${res.status}: ${res.text}`);
    return res.body;
  };

  beforeAll(async () => {
    // Small tasks, so each job below is split across several of them.
    stack = await Stack.start({ TASK_TARGET_BYTES: String(16 * 1024), TASK_TARGET_ROWS: '700' });
    const endpoint = testEnv('CLOUDFLOW_TEST_S3_ENDPOINT');
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAE2E', secretAccessKey: 'e2e-secret' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    pg = new PgClient({ connectionString: testEnv('CLOUDFLOW_TEST_POSTGRES_URL') });
    await pg.connect();
    await createDataSource({
      type: 's3',
      name: 'lake',
      connectionString: `s3://AKIAE2E:e2e-secret@${bucket}/?endpoint=${encodeURIComponent(endpoint)}`,
    });
    await createDataSource({
      type: 'postgres',
      name: 'warehouse',
      connectionString: testEnv('CLOUDFLOW_TEST_POSTGRES_URL'),
    });
    await createDataSource({
      type: 'mongodb',
      name: 'documents',
      connectionString: `mongodb://${mongoUrl.host}/${mongoDb}`,
    });
    await createDataSource({
      type: 'mysql',
      name: 'shop',
      connectionString: testEnv('CLOUDFLOW_TEST_MYSQL_URL'),
    });
  });

  afterAll(async () => {
    await pg?.end();
    s3?.destroy();
    const mongo = new MongoClient(testEnv('MONGO_URL'));
    await mongo
      .db(mongoDb)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close();
    await stack?.stop();
  });

  it('reads an s3:// CSV through the bucket’s data source into a PostgreSQL table, every row once', async () => {
    const { text, rows } = ordersCsv(5_000);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/orders.csv', Body: text }));
    const table = `orders_${suffix}`;
    const pipeline = await createPipeline(stack.api(), {
      name: 's3 to postgres',
      steps: [
        { type: 'transform', config: { operation: 'uppercase', fields: ['customer'] } },
        { type: 'sink', config: { datasource: 'warehouse', table } },
      ],
    });
    const submitted = await submitJob(stack.api(), {
      pipelineId: pipeline.id,
      input: `s3://${bucket}/in/orders.csv`,
    });
    expect(submitted.input).toMatchObject({ path: `s3://${bucket}/in/orders.csv`, format: 'csv' });
    const job = await waitForJob(stack.api(), submitted.jobId, { timeoutMs: 120_000 });
    expect(job).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(job.progress).toMatchObject({ rowsRead: 5_000, rowsWritten: 5_000, rowsRejected: 0 });
    expect(job.progress.tasksTotal).toBeGreaterThan(3);
    expect(job.output).toMatchObject({ kind: 'table', driver: 'postgres', table });

    const written = await pg.query<{ id: string; customer: string; amount: string }>(
      `SELECT id, customer, amount FROM "${table}"`,
    );
    expect(written.rowCount).toBe(5_000);
    expect(checksum(written.rows.map((r) => [r.id, r.customer, r.amount]))).toBe(checksum(rows));
    // One commit marker per task: the rows of each went in with it, once.
    const markers = await pg.query<{ n: string }>(
      'SELECT count(*) AS n FROM cloudflow_task_commits WHERE job_id = $1',
      [job.jobId],
    );
    expect(Number(markers.rows[0]?.n)).toBe(job.progress.tasksTotal);

    const results = await stack.api().get<JobResults>(`/api/v1/jobs/${job.jobId}/results`);
    expect(results.body).toMatchObject({ counts: { rowsWritten: 5_000 }, rows: [] });
  });

  it('reads a PostgreSQL table split into key ranges and writes a MongoDB collection, exactly', async () => {
    const table = `events_${suffix}`;
    await pg.query(
      `CREATE TABLE "${table}" (id bigint PRIMARY KEY, kind text NOT NULL, score double precision, at timestamptz)`,
    );
    await pg.query(
      `INSERT INTO "${table}"
       SELECT g, CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END, g * 0.5,
              timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
         FROM generate_series(1, 4000) AS g`,
    );
    const pipeline = await createPipeline(stack.api(), {
      name: 'postgres to mongodb',
      steps: [
        { type: 'source', config: { datasource: 'warehouse', table } },
        { type: 'transform', config: { operation: 'uppercase', fields: ['kind'] } },
        { type: 'sink', config: { datasource: 'documents', collection: 'events' } },
      ],
    });
    const submitted = await submitJob(stack.api(), { pipelineId: pipeline.id });
    expect(submitted.input).toMatchObject({ path: table, format: 'table' });
    const job = await waitForJob(stack.api(), submitted.jobId, { timeoutMs: 120_000 });
    expect(job).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(job.progress).toMatchObject({ rowsRead: 4_000, rowsWritten: 4_000 });
    expect(job.progress.tasksTotal).toBe(Math.ceil(4_000 / 700));

    const mongo = new MongoClient(testEnv('MONGO_URL'));
    try {
      const docs = await mongo.db(mongoDb).collection('events').find({}).toArray();
      expect(docs).toHaveLength(4_000);
      const expected = Array.from({ length: 4_000 }, (_, i) => {
        const id = i + 1;
        // Timestamps arrive as ISO 8601 at the server's own precision (whole seconds here).
        const at = new Date(Date.UTC(2026, 0, 1) + id * 60_000).toISOString().replace('.000Z', 'Z');
        return [String(id), id % 3 === 0 ? 'CLICK' : 'VIEW', String(id * 0.5), at];
      });
      expect(
        checksum(
          docs.map((d) => [
            String(d['id']),
            String(d['kind']),
            String(d['score']),
            String(d['at']),
          ]),
        ),
      ).toBe(checksum(expected));
    } finally {
      await mongo.close();
    }
  });

  it('reads a MariaDB table and writes a JSON Lines object to the bucket', async () => {
    const mysql = await createConnection(testEnv('CLOUDFLOW_TEST_MYSQL_URL'));
    const table = `items_${suffix}`;
    try {
      await mysql.query(
        `CREATE TABLE \`${table}\` (sku VARCHAR(20) PRIMARY KEY, qty INT NOT NULL)`,
      );
      const values = Array.from({ length: 1_500 }, (_, i) => [
        `sku-${String(i).padStart(5, '0')}`,
        i,
      ]);
      await mysql.query(`INSERT INTO \`${table}\` (sku, qty) VALUES ?`, [values]);
    } finally {
      await mysql.end();
    }
    const pipeline = await createPipeline(stack.api(), {
      name: 'mariadb to s3',
      steps: [
        { type: 'source', config: { datasource: 'shop', table } },
        { type: 'transform', config: { operation: 'filter', expression: 'int(qty) % 2 == 0' } },
        { type: 'sink', config: { datasource: 'lake', object: 'out/items.jsonl' } },
      ],
    });
    const job = await waitForJob(
      stack.api(),
      (await submitJob(stack.api(), { pipelineId: pipeline.id })).jobId,
      { timeoutMs: 120_000 },
    );
    expect(job).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(job.progress).toMatchObject({ rowsRead: 1_500, rowsWritten: 750 });
    expect(job.progress.tasksTotal).toBeGreaterThan(1);
    expect(job.output).toMatchObject({ kind: 'object', bucket, key: 'out/items.jsonl' });

    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'out/items.jsonl' }));
    const lines = (await object.Body!.transformToString()).trim().split('\n');
    const rows = lines.map((l) => JSON.parse(l) as { sku: string; qty: number });
    // Key order (sku) is input order: the object lists the even quantities in order.
    expect(rows.map((r) => r.sku)).toEqual(
      Array.from({ length: 750 }, (_, i) => `sku-${String(i * 2).padStart(5, '0')}`),
    );
    expect(rows.every((r) => Number(r.qty) % 2 === 0)).toBe(true);
  });

  it('reads and writes files under directory data sources, confined to the data root', async () => {
    stack.writeData('inbox/people.csv', 'id,name\n1,ada\n2,alan\n');
    stack.writeData('inbox/notes.txt', 'not data\n');
    for (const [name, path] of [
      ['inbox', '/inbox/'],
      ['exports', '/exports/'],
    ]) {
      await createDataSource({ type: 'file', name, connectionString: path });
    }
    const inbox = await stack.api().get<{ items: DataSource[] }>('/api/v1/datasources?limit=100');
    const inboxId = inbox.body.items.find((d) => d.name === 'inbox')?.id;
    const tested = await stack
      .api()
      .post<{ ok: boolean; message: string }>(`/api/v1/datasources/${inboxId}/test`);
    expect(tested.body).toMatchObject({
      ok: true,
      message: "'/inbox/' is a readable directory of 2 files",
    });
    const metadata = await stack.api().get(`/api/v1/datasources/${inboxId}/metadata`);
    expect(metadata.body).toEqual({
      kind: 'directory',
      driver: 'file',
      path: '/inbox/',
      files: [
        { name: 'notes.txt', size: 9 },
        { name: 'people.csv', size: 21 },
      ],
      truncated: false,
    });

    const pipeline = await createPipeline(stack.api(), {
      name: 'directory to directory',
      steps: [
        { type: 'source', config: { datasource: 'inbox', path: 'people.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { datasource: 'exports', path: 'daily/people.jsonl' } },
      ],
    });
    const job = await waitForJob(
      stack.api(),
      (await submitJob(stack.api(), { pipelineId: pipeline.id })).jobId,
    );
    expect(job).toMatchObject({ status: 'SUCCEEDED', input: { path: '/inbox/people.csv' } });
    expect(job.output).toEqual({
      kind: 'file',
      path: '/exports/daily/people.jsonl',
      format: 'jsonl',
    });
    expect(stack.readData('exports/daily/people.jsonl')).toBe(
      '{"id":"1","name":"ADA"}\n{"id":"2","name":"ALAN"}\n',
    );

    const escaping = await createPipeline(stack.api(), {
      name: 'escaping',
      steps: [{ type: 'source', config: { datasource: 'inbox', path: '%2e%2e/secrets.csv' } }],
    }).catch((e: Error) => e);
    expect(String(escaping)).toContain("must not contain '..' segments");
  });

  describe('refusals at submission (400/4001, nothing started)', () => {
    const refused = async (steps: object[], input?: string): Promise<ErrorEnvelope> => {
      const pipeline = await createPipeline(stack.api(), { name: 'refused', steps });
      const res = await stack.api().post<ErrorEnvelope>('/api/v1/jobs', {
        pipelineId: pipeline.id,
        ...(input !== undefined && { input }),
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(4001);
      return res.body;
    };

    it('an s3:// input whose bucket no data source reads', async () => {
      const body = await refused(
        [{ type: 'transform', config: { operation: 'trim' } }],
        's3://no-such-bucket-anywhere/data.csv',
      );
      expect(body.details).toContain(
        "no S3 data source in this workspace reads bucket 'no-such-bucket-anywhere'",
      );
    });

    it('a data source the workspace does not have', async () => {
      const body = await refused([{ type: 'source', config: { datasource: 'nope', table: 't' } }]);
      expect(body.details).toContain("no data source 'nope'");
    });

    it('a step that names a collection in a PostgreSQL data source', async () => {
      const body = await refused([
        { type: 'source', config: { datasource: 'warehouse', collection: 'things' } },
      ]);
      expect(body.details).toContain("has no 'collection'; name a 'table'");
    });

    it('a table that does not exist', async () => {
      const body = await refused([
        { type: 'source', config: { datasource: 'warehouse', table: `missing_${suffix}` } },
      ]);
      expect(body.details).toContain(`missing_${suffix}`);
    });

    it('an object that is not in the bucket', async () => {
      const body = await refused(
        [{ type: 'transform', config: { operation: 'trim' } }],
        `s3://${bucket}/in/absent.csv`,
      );
      expect(body.details).toContain('in/absent.csv');
    });

    it('a source whose password is wrong, without the password', async () => {
      const url = new URL(testEnv('CLOUDFLOW_TEST_POSTGRES_URL'));
      url.password = 'wrong-pw-canary-77';
      await createDataSource({
        type: 'postgres',
        name: 'wrong-pw',
        connectionString: url.toString(),
      });
      const body = await refused([
        { type: 'source', config: { datasource: 'wrong-pw', table: 't' } },
      ]);
      expect(body.details).toMatch(/password|authentication/i);
      expect(JSON.stringify(body)).not.toContain('wrong-pw-canary-77');
    });
  });

  it('shows the job’s input and output without any credentials', async () => {
    const res = await stack.api().get<{ items: Job[] }>('/api/v1/jobs?limit=100');
    expect(res.status).toBe(200);
    // The jobs above, over data sources whose connection strings carry these passwords.
    expect(res.body.items.filter((j) => j.output.kind === 'table').length).toBeGreaterThan(0);
    expect(JSON.stringify(res.body)).not.toContain('e2e-secret');
    expect(JSON.stringify(res.body)).not.toContain('cloudflow-test-pw');
  });
});
