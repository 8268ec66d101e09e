import { createServer, type Server, type Socket } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import { freePort, testEnv, uniqueName, withDatabase } from '@cloudflow/testing';
import { parseConnectionString, type DataSourceType } from './connection-string';
import type { ConnectionTestResult } from '@cloudflow/contracts';
import { testConnection } from './connection-test';
import { NetworkPolicy } from './network-policy';

/** The test servers listen on loopback, which a deployment must allow explicitly. */
const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });

async function probe(
  type: DataSourceType,
  raw: string,
  timeoutMs = 10_000,
): Promise<ConnectionTestResult> {
  const parsed = parseConnectionString(type, raw);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return testConnection(parsed.config, { policy, timeoutMs });
}

const stagesOf = (result: ConnectionTestResult) =>
  result.stages.map((s) => `${s.stage}:${s.ok ? 'ok' : 'failed'}`);

describe.each([
  ['postgres', () => new URL(testEnv('CLOUDFLOW_TEST_POSTGRES_URL'))],
  ['mysql', () => new URL(testEnv('CLOUDFLOW_TEST_MYSQL_URL'))],
] as const)('testConnection against a real %s server', (driver, url) => {
  const withUrl = (change: (u: URL) => void): string => {
    const copy = url();
    change(copy);
    return copy.toString();
  };

  it('passes every stage with the right credentials', async () => {
    const result = await probe(driver, url().toString());
    expect(result).toMatchObject({ ok: true, driver });
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'authentication:ok', 'query:ok']);
  });

  it('reports a wrong password at the authentication stage, without the password', async () => {
    const result = await probe(
      driver,
      withUrl((u) => (u.password = 'not-the-password-xyz')),
    );
    expect(result.ok).toBe(false);
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'authentication:failed']);
    expect(result.message).toBe(`authentication: the user 'cloudflow' or its password is wrong`);
    expect(JSON.stringify(result)).not.toContain('not-the-password-xyz');
  });

  it('reports an unknown database at the permission stage', async () => {
    const result = await probe(
      driver,
      withUrl((u) => (u.pathname = '/no_such_db')),
    );
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'permission:failed']);
    expect(result.message).toContain("'no_such_db'");
  });

  it('reports a user without access to the database at the permission stage', async () => {
    const result = await probe(
      driver,
      withUrl((u) => (u.username = testEnv('CLOUDFLOW_TEST_NOACCESS_USER'))),
    );
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'permission:failed']);
    expect(result.message).toMatch(/may not (connect to|use) the database 'cloudflow'/);
  });

  it('reports a closed port at the TCP stage', async () => {
    const port = await freePort();
    const result = await probe(
      driver,
      withUrl((u) => (u.port = String(port))),
    );
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:failed']);
    expect(result.message).toBe(
      `tcp: nothing is listening on 127.0.0.1:${port} (connection refused)`,
    );
  });
});

describe('testConnection against a real MongoDB-wire server that checks passwords', () => {
  /** The test user's URL with `change` applied: the user was created in the database 'cloudflow'. */
  const withUrl = (change: (u: URL) => void): string => {
    const url = new URL(testEnv('CLOUDFLOW_TEST_MONGO_AUTH_URL'));
    change(url);
    return url.toString();
  };
  const allStages = ['dns:ok', 'tcp:ok', 'authentication:ok', 'permission:ok', 'query:ok'];

  it('passes every stage with the right credentials', async () => {
    const result = await probe(
      'mongodb',
      withUrl(() => undefined),
    );
    expect(result).toMatchObject({ ok: true, driver: 'mongodb' });
    expect(stagesOf(result)).toEqual(allStages);
    expect(result.stages[2]?.message).toBe("signed in as 'cloudflow'");
  });

  it('reports a wrong password at the authentication stage, without the password', async () => {
    const result = await probe(
      'mongodb',
      withUrl((u) => (u.password = 'not-the-password-xyz')),
    );
    expect(result.ok).toBe(false);
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'authentication:failed']);
    expect(result.message).toBe(
      "authentication: the user 'cloudflow' or its password is wrong (looked up in the database 'cloudflow'; add authSource=admin, or the database the user was created in, if it is another)",
    );
    expect(JSON.stringify(result)).not.toContain('not-the-password-xyz');
    expect(JSON.stringify(result)).not.toContain('cloudflow-test-pw');
  });

  it('reports an unknown user at the authentication stage, as a wrong password', async () => {
    const result = await probe(
      'mongodb',
      withUrl((u) => {
        u.username = 'nobody_here';
        u.searchParams.set('authSource', 'cloudflow');
      }),
    );
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'authentication:failed']);
    expect(result.message).toBe("authentication: the user 'nobody_here' or its password is wrong");
  });

  it('reports an unknown database at the permission stage, naming the databases there are', async () => {
    const result = await probe(
      'mongodb',
      withUrl((u) => {
        u.pathname = '/no_such_db';
        u.searchParams.set('authSource', 'cloudflow');
      }),
    );
    expect(stagesOf(result)).toEqual([
      'dns:ok',
      'tcp:ok',
      'authentication:ok',
      'permission:failed',
    ]);
    expect(result.message).toMatch(
      /^permission: the database 'no_such_db' does not exist \(MongoDB creates it on the first write\); databases the user can see: .*'cloudflow'/,
    );
  });

  it('says where the user was looked up when the database named is not where it was created', async () => {
    // MongoDB's rule: without authSource, the user is looked up in the database of the URL.
    const result = await probe(
      'mongodb',
      withUrl((u) => (u.pathname = '/no_such_db')),
    );
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:ok', 'authentication:failed']);
    expect(result.message).toContain("looked up in the database 'no_such_db'; add authSource=");
  });

  it('passes a database that exists only once something is written to it', async () => {
    const database = uniqueName('ct');
    const url = withUrl((u) => {
      u.pathname = `/${database}`;
      u.searchParams.set('authSource', 'cloudflow');
    });
    expect(stagesOf(await probe('mongodb', url))).toContain('permission:failed');
    const client = await MongoClient.connect(url);
    try {
      await client.db().collection('first').insertOne({ written: true });
      expect(stagesOf(await probe('mongodb', url))).toEqual(allStages);
    } finally {
      await client.db().dropDatabase();
      await client.close();
    }
  });

  it('reports a connection without credentials at the permission stage', async () => {
    const result = await probe(
      'mongodb',
      withUrl((u) => {
        u.username = '';
        u.password = '';
      }),
    );
    expect(stagesOf(result)).toEqual([
      'dns:ok',
      'tcp:ok',
      'authentication:ok',
      'permission:failed',
    ]);
    expect(result.message).toBe(
      "permission: the server asks for a user name and password to read the database 'cloudflow'",
    );
  });

  it('reports a closed port at the TCP stage', async () => {
    const port = await freePort();
    const result = await probe(
      'mongodb',
      withUrl((u) => (u.port = String(port))),
    );
    expect(stagesOf(result)).toEqual(['dns:ok', 'tcp:failed']);
    expect(result.message).toBe(
      `tcp: nothing is listening on 127.0.0.1:${port} (connection refused)`,
    );
  });
});

describe('testConnection, whatever the driver', () => {
  let silent: Server;
  let silentPort: number;
  const accepted: Socket[] = [];

  beforeAll(async () => {
    // Accepts connections and never says a word: a server that hangs.
    silentPort = await freePort();
    silent = createServer((socket) => {
      accepted.push(socket);
      socket.resume(); // read and drop, so the client's close is seen
    });
    await new Promise<void>((resolve) => silent.listen(silentPort, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('refuses a metadata address before any connection, at the policy stage', async () => {
    const result = await probe('postgres', 'postgres://u:p@169.254.169.254/x');
    expect(stagesOf(result)).toEqual(['policy:failed']);
    expect(result.message).toContain('link-local');
  });

  it('reports a name that does not resolve at the DNS stage (the published example)', async () => {
    const result = await probe(
      'database',
      'Server=fake-db;Database=fake;User Id=fake;Password=fake;',
    );
    expect(stagesOf(result)).toEqual(['dns:failed']);
    expect(result.message).toMatch(
      /^dns: the host 'fake-db' (does not resolve|could not be resolved)$/,
    );
  });

  it('ends within its time budget when a server never answers', async () => {
    const started = Date.now();
    const result = await probe('postgres', `postgres://u:p@127.0.0.1:${silentPort}/x`, 1_500);
    expect(result.ok).toBe(false);
    expect(result.stages.at(-1)?.stage).toBe('authentication');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Nothing is left connected to the silent server once the test has answered.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.filter((socket) => socket.readableEnded === false)).toEqual([]);
  });

  it('connects to the MongoDB-wire server that lets anyone in and lists collections', async () => {
    // A database of its own with a collection in it: the shared one may not exist yet.
    const url = withDatabase(testEnv('MONGO_URL'), uniqueName('ct'));
    const client = await MongoClient.connect(url);
    try {
      await client.db().collection('first').insertOne({ written: true });
      const result = await probe('mongodb', url);
      expect(stagesOf(result)).toEqual([
        'dns:ok',
        'tcp:ok',
        'authentication:ok',
        'permission:ok',
        'query:ok',
      ]);
      expect(result.stages[2]?.message).toBe('connected without credentials');
    } finally {
      await client.db().dropDatabase();
      await client.close();
    }
  });

  it('tests an S3 bucket: listed, unknown, and a closed port', async () => {
    const endpoint = testEnv('CLOUDFLOW_TEST_S3_ENDPOINT');
    const bucket = `ct-${Date.now()}`;
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    const at = (name: string, url = endpoint) =>
      `s3://test:test@${name}/?endpoint=${encodeURIComponent(url)}`;

    const listed = await probe('s3', at(bucket));
    expect(stagesOf(listed)).toEqual(['dns:ok', 'tcp:ok', 'authentication:ok']);
    const unknown = await probe('s3', at('no-such-bucket-here'));
    expect(stagesOf(unknown)).toEqual(['dns:ok', 'tcp:ok', 'permission:failed']);
    expect(unknown.message).toBe("permission: the bucket 'no-such-bucket-here' does not exist");
    const closed = await probe('s3', at(bucket, `http://127.0.0.1:${await freePort()}`));
    expect(stagesOf(closed)).toEqual(['dns:ok', 'tcp:failed']);
  });

  it('reports a wrong S3 secret at the authentication stage, without the secret', async () => {
    const endpoint = testEnv('CLOUDFLOW_TEST_S3_AUTH_ENDPOINT');
    const accessKeyId = testEnv('CLOUDFLOW_TEST_S3_AUTH_ACCESS_KEY');
    const secretAccessKey = testEnv('CLOUDFLOW_TEST_S3_AUTH_SECRET_KEY');
    const bucket = `ct-auth-${Date.now()}`;
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    const signedWith = (secret: string) =>
      `s3://${encodeURIComponent(accessKeyId)}:${encodeURIComponent(secret)}@${bucket}/?endpoint=${encodeURIComponent(endpoint)}`;

    const right = await probe('s3', signedWith(secretAccessKey));
    expect(stagesOf(right)).toEqual(['dns:ok', 'tcp:ok', 'authentication:ok']);
    const wrongSecret = 'not-the-secret-key-xyz';
    const wrong = await probe('s3', signedWith(wrongSecret));
    expect(wrong.ok).toBe(false);
    expect(stagesOf(wrong)).toEqual(['dns:ok', 'tcp:ok', 'authentication:failed']);
    expect(wrong.message).toBe('authentication: the access key or its secret is wrong');
    expect(JSON.stringify(wrong)).not.toContain(wrongSecret);
    expect(JSON.stringify(wrong)).not.toContain(secretAccessKey);
  });

  it('refuses an S3 endpoint on a metadata address before any request', async () => {
    const result = await probe('s3', 's3://k:s@bucket-x/?endpoint=http%3A%2F%2F169.254.169.254');
    expect(stagesOf(result)).toEqual(['policy:failed']);
  });
});
