import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { CreatedApiKey, CreatedWorkspace } from '@cloudflow/contracts';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client as PgClient } from 'pg';
import { SPEC_CREATE_PIPELINE_BODY, testEnv, uniqueName } from '@cloudflow/testing';
import { allLogLines, createPipeline, submitJob, waitForJob } from './support/jobs';
import { SPEC_API_KEY, Stack, eventually } from './support/stack';
import {
  Browser,
  authorizeAndApprove,
  createUser,
  pkce,
  registerClient,
  requestToken,
} from './support/oauth';

type Offsets = Map<string, { partition: number; offset: number }[]>;

/**
 * A job that uses data sources with canary credentials — an S3 secret key
 * to read its input, a PostgreSQL password to write its output — so the
 * scheduler and a worker fetch both from the broker; its status and its log
 * join the answers searched. Returns the secrets.
 */
async function runJobWithSecrets(stack: Stack, apiBodies: string[]): Promise<string[]> {
  const s3Secret = `canary-s3-secret-${uniqueName('s3')}`;
  const pgPassword = `canary-pg-pw-${uniqueName('pg')}`;
  const role = uniqueName('canary').replaceAll('-', '_').toLowerCase();
  const bucket = `canary-${randomUUID().slice(0, 8)}`;
  const endpoint = testEnv('CLOUDFLOW_TEST_S3_ENDPOINT');
  const pgDatabase = new URL(testEnv('CLOUDFLOW_TEST_POSTGRES_URL')).pathname.slice(1);
  const admin = new PgClient({ connectionString: testEnv('CLOUDFLOW_TEST_POSTGRES_URL') });
  await admin.connect();
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIACANARY', secretAccessKey: s3Secret },
  });
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${pgPassword}'`);
    await admin.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`);
    // The test database admits only the roles it names.
    await admin.query(`GRANT CONNECT ON DATABASE ${pgDatabase} TO ${role}`);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'in.csv', Body: 'id,name\n1,ada\n2,alan\n' }),
    );
    const pgUrl = new URL(testEnv('CLOUDFLOW_TEST_POSTGRES_URL'));
    pgUrl.username = role;
    pgUrl.password = pgPassword;
    for (const body of [
      {
        type: 's3',
        name: 'canary lake',
        connectionString: `s3://AKIACANARY:${s3Secret}@${bucket}/?endpoint=${encodeURIComponent(endpoint)}`,
      },
      { type: 'postgres', name: 'canary sink', connectionString: pgUrl.toString() },
    ]) {
      const created = await stack.api().post('/api/v1/datasources', body);
      if (created.status !== 201) throw new Error(`data source refused: ${created.text}`);
      apiBodies.push(created.text);
    }
    const pipeline = await createPipeline(stack.api(), {
      name: 'canary job',
      steps: [
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { datasource: 'canary sink', table: `${role}.people` } },
      ],
    });
    const submitted = await submitJob(stack.api(), {
      pipelineId: pipeline.id,
      input: `s3://${bucket}/in.csv`,
    });
    const job = await waitForJob(stack.api(), submitted.jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', error: null, progress: { rowsWritten: 2 } });
    apiBodies.push(JSON.stringify(job));
    // Its log: what the scheduler and the worker did with both data sources, never their secrets.
    const logs = await allLogLines(stack.api(), job.jobId, 2);
    expect(logs.items.map((l) => l.message)).toEqual(
      expect.arrayContaining(['job accepted', 'task committed', 'job finished']),
    );
    apiBodies.push(JSON.stringify(logs.items));
    const written = await admin.query(`SELECT name FROM ${role}.people ORDER BY id`);
    expect(written.rows.map((r: { name: string }) => r.name)).toEqual(['ADA', 'ALAN']);
    await admin.query(`DROP SCHEMA ${role} CASCADE`);
    await admin.query(`DROP OWNED BY ${role}`);
    await admin.query(`DROP ROLE ${role}`);
  } finally {
    s3.destroy();
    await admin.end();
  }
  return [s3Secret, pgPassword];
}

/**
 * Canary: known secrets (the bootstrap key, a key issued through the API, a
 * new workspace's admin key, a user's password, a client secret, an
 * authorization code, refresh and access tokens, data-source passwords, one
 * pair used by a job's scheduler and worker) are used, then looked for
 * in plaintext in every MongoDB document, every log line and every Kafka
 * message the stack wrote.
 */
describe('Secrets never stored, logged or sent in plaintext (distributed stack)', () => {
  let stack: Stack;
  const kafka = new Kafka({
    brokers: process.env['KAFKA_BROKERS']!.split(','),
    logLevel: logLevel.NOTHING,
  });

  const offsets = async (): Promise<Offsets> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith('cloudflow.'));
      const result: Offsets = new Map();
      for (const topic of topics) {
        const parts = await admin.fetchTopicOffsets(topic);
        result.set(
          topic,
          parts.map((p) => ({ partition: p.partition, offset: Number(p.high) })),
        );
      }
      return result;
    } finally {
      await admin.disconnect();
    }
  };

  /** Every message (value and headers) written between two offset snapshots. */
  const messagesBetween = async (from: Offsets, to: Offsets): Promise<string[]> => {
    const pending = new Map<string, number>();
    for (const [topic, parts] of to) {
      for (const { partition, offset } of parts) {
        const start = from.get(topic)?.find((p) => p.partition === partition)?.offset ?? 0;
        if (offset > start) pending.set(`${topic}/${partition}`, offset);
      }
    }
    const texts: string[] = [];
    if (pending.size === 0) return texts;
    const consumer = kafka.consumer({ groupId: uniqueName('canary') });
    await consumer.connect();
    await consumer.subscribe({ topics: [...to.keys()], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers = Object.values(message.headers ?? {}).map(String);
        texts.push(`${message.value?.toString() ?? ''} ${headers.join(' ')}`);
        const end = pending.get(`${topic}/${partition}`);
        if (end !== undefined && Number(message.offset) + 1 >= end) {
          pending.delete(`${topic}/${partition}`);
        }
      },
    });
    for (const [topic, parts] of to) {
      for (const { partition } of parts) {
        const start = from.get(topic)?.find((p) => p.partition === partition)?.offset ?? 0;
        consumer.seek({ topic, partition, offset: String(start) });
      }
    }
    await eventually(async () => pending.size === 0, 60_000, 200);
    await consumer.disconnect();
    return texts;
  };

  it('finds none of them in MongoDB, in the logs or on Kafka', async () => {
    const before = await offsets();
    stack = await Stack.start();
    try {
      const issued = await stack.api().post<CreatedApiKey>('/api/v1/api-keys', { name: 'canary' });
      const workspace = await stack
        .api()
        .post<CreatedWorkspace>('/api/v1/workspaces', { name: 'canary ws' });
      const secrets = [SPEC_API_KEY, issued.body.key, workspace.body.adminKey.key];
      /** Answers that must not show a secret they were not created to show. */
      const apiBodies: string[] = [];
      for (const secret of secrets) {
        const res = await stack
          .api(`ApiKey ${secret}`)
          .post('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY);
        expect(res.status).toBe(201);
      }
      await stack.api().delete(`/api/v1/api-keys/${issued.body.id}`);

      // OAuth: a password set and used to sign in, a client secret, a code and
      // the tokens it gave, one refresh token rotated.
      const password = `canary-password-${uniqueName('pw')}`;
      await createUser(stack.api(), 'canary-user', password);
      const redirectUri = 'http://127.0.0.1:9999/cb';
      const app = await registerClient(stack.api(), {
        name: 'canary app',
        redirectUris: [redirectUri],
      });
      const { verifier, challenge } = pkce();
      const back = await authorizeAndApprove(
        new Browser(stack.gateway.baseUrl),
        { clientId: app.id, redirectUri, challenge, method: 'S256' },
        { username: 'canary-user', password },
      );
      const code = back.searchParams.get('code') ?? '';
      const basic = { id: app.id, secret: app.clientSecret ?? '' };
      const tokens = await requestToken(
        stack.gateway.baseUrl,
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        },
        { basic },
      );
      expect(tokens.status).toBe(200);
      const rotated = await requestToken(
        stack.gateway.baseUrl,
        { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token ?? '' },
        { basic },
      );
      expect(rotated.status).toBe(200);
      const bearer = stack.api(`Bearer ${rotated.body.access_token ?? ''}`);
      expect((await bearer.post('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY)).status).toBe(201);
      secrets.push(
        password,
        app.clientSecret ?? 'missing client secret',
        code,
        tokens.body.refresh_token ?? 'missing refresh token',
        rotated.body.refresh_token ?? 'missing refresh token',
        rotated.body.access_token ?? 'missing access token',
      );
      // A data source's password, given at creation and again when it changes.
      const dbPassword = `canary-db-pw-${uniqueName('ds')}`;
      const newDbPassword = `canary-db-pw2-${uniqueName('ds')}`;
      const source = await stack
        .api()
        .post<{ id: string; connectionString: string }>('/api/v1/datasources', {
          type: 'postgres',
          name: 'canary warehouse',
          connectionString: `postgres://etl:${dbPassword}@warehouse.internal/dw`,
        });
      expect(source.status).toBe(201);
      const changed = await stack.api().put(`/api/v1/datasources/${source.body.id}`, {
        connectionString: `Server=warehouse.internal;Database=dw;User Id=etl;Password=${newDbPassword}`,
      });
      expect(changed.status).toBe(200);
      apiBodies.push(
        source.text,
        changed.text,
        (await stack.api().get('/api/v1/datasources')).text,
      );
      secrets.push(dbPassword, newDbPassword);
      secrets.push(...(await runJobWithSecrets(stack, apiBodies)));
      const after = await offsets();

      const client = await MongoClient.connect(stack.mongoUrl);
      const documents: string[] = [];
      try {
        for (const { name } of await client.db().listCollections().toArray()) {
          for (const doc of await client.db().collection(name).find({}).toArray()) {
            documents.push(JSON.stringify(doc));
          }
        }
      } finally {
        await client.close();
      }
      const logs = readdirSync(stack.logDir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(stack.logDir, f), 'utf8'));
      const messages = await messagesBetween(before, after);

      // The canaries are alive: the key's prefix and the user's name are stored.
      expect(documents.some((d) => d.includes(issued.body.prefix))).toBe(true);
      expect(documents.some((d) => d.includes('canary-user'))).toBe(true);
      expect(documents.some((d) => d.includes('canary warehouse'))).toBe(true);
      expect(messages.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        expect(documents.filter((d) => d.includes(secret))).toEqual([]);
        expect(logs.filter((l) => l.includes(secret))).toEqual([]);
        expect(messages.filter((m) => m.includes(secret))).toEqual([]);
        expect(apiBodies.filter((b) => b.includes(secret))).toEqual([]);
      }
    } finally {
      await stack?.stop();
    }
  });
});
