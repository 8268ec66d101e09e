import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { CreatedApiKey, CreatedWorkspace } from '@cloudflow/contracts';
import { SPEC_CREATE_PIPELINE_BODY, uniqueName, withDatabase } from '@cloudflow/testing';
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
 * Canary: known secrets (the bootstrap key, a key issued through the API, a
 * new workspace's admin key, a user's password, a client secret, an
 * authorization code, refresh and access tokens) are used, then looked for
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
      const after = await offsets();

      const client = await MongoClient.connect(
        withDatabase(process.env['MONGO_URL']!, stack.database),
      );
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
