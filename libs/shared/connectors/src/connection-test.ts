import { connect as tcpConnect } from 'node:net';
import type { MongoClient } from 'mongodb';
import { createConnection as mysqlConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import type { CONNECTION_TEST_STAGES, ConnectionTestResult } from '@cloudflow/contracts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mongoClient, mysqlSettings, pgSettings } from './clients';
import { withDeadline } from './deadline';
import { s3Client, s3Endpoint } from './s3';
import type { ConnectionConfig } from './connection-string';
import { PolicyError, ResolveError, type NetworkPolicy } from './network-policy';

type TestStage = (typeof CONNECTION_TEST_STAGES)[number];
type StageOutcome = ConnectionTestResult['stages'][number];

/** A failure at a stage, worded for the user. */
class StageFailure extends Error {
  constructor(
    readonly stage: TestStage,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectionTestOptions {
  policy: NetworkPolicy;
  /** The whole test, every stage included, ends within this. */
  timeoutMs: number;
}

/**
 * Connects to a data source the way a task would, stage by stage, within a
 * bounded time: resolve the host and check the address against the network
 * policy (before any packet is sent), open TCP to the address checked, then
 * TLS and authentication by the driver, then whether the user may use the
 * database, then a trivial query. Reports the stage that failed in plain words.
 */
export async function testConnection(
  config: ConnectionConfig,
  options: ConnectionTestOptions,
): Promise<ConnectionTestResult> {
  const stages: StageOutcome[] = [];
  const deadline = Date.now() + options.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const run = async <T>(stage: TestStage, ok: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      const value = await withDeadline(
        work(),
        left(),
        () => new StageFailure(stage, `the ${stage} stage did not finish in time`),
      );
      stages.push({ stage, ok: true, durationMs: Date.now() - started, message: ok });
      return value;
    } catch (error) {
      const failure =
        error instanceof StageFailure
          ? error
          : new StageFailure(stage, `the ${stage} stage failed`);
      stages.push({
        stage: failure.stage,
        ok: false,
        durationMs: Date.now() - started,
        message: failure.message,
      });
      throw failure;
    }
  };
  try {
    if (config.driver === 'file') {
      throw new StageFailure(
        'query',
        'file data sources are read from the data root, not connected to',
      );
    }
    const endpoint = config.driver === 's3' ? s3Endpoint(config) : undefined;
    const host = endpoint ? endpoint.hostname.replace(/^\[(.*)\]$/, '$1') : (config.host ?? '');
    const port = endpoint
      ? Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80))
      : (config.port ?? 0);
    const [address] = await run('dns', `'${host}' resolves to an allowed address`, async () => {
      try {
        return await options.policy.resolve(host, left());
      } catch (error) {
        if (error instanceof PolicyError) throw new StageFailure('policy', error.message);
        if (error instanceof ResolveError) throw new StageFailure('dns', error.message);
        throw error;
      }
    });
    const target = address ?? host;
    await run('tcp', `${host}:${port} accepts connections`, () =>
      probeTcp(target, port, host, left()),
    );
    if (config.driver === 's3') await testS3(config, options.policy, run, left);
    else await DRIVER_TESTS[config.driver](config, target, run, left);
    return {
      ok: true,
      driver: config.driver,
      stages,
      message: 'Connected, signed in and queried successfully',
    };
  } catch (error) {
    const failed = stages.at(-1);
    return {
      ok: false,
      driver: config.driver,
      stages,
      message:
        failed && !failed.ok
          ? `${failed.stage}: ${failed.message}`
          : error instanceof Error
            ? error.message
            : 'the test failed',
    };
  }
}

type Run = <T>(stage: TestStage, ok: string, work: () => Promise<T>) => Promise<T>;

const DRIVER_TESTS: Record<
  'postgres' | 'mysql' | 'mongodb',
  (c: ConnectionConfig, address: string, run: Run, left: () => number) => Promise<void>
> = {
  async postgres(config, address, run, left) {
    const client = new PgClient(pgSettings(config, address, left()));
    client.on('error', () => undefined);
    try {
      await run('authentication', `signed in as '${config.user ?? ''}'`, async () => {
        try {
          await client.connect();
        } catch (error) {
          throw classifyPg(error, config);
        }
      });
      await run('query', 'SELECT 1 answered', async () => {
        try {
          await client.query('SELECT 1');
        } catch {
          throw new StageFailure('query', 'a trivial query failed');
        }
      });
    } finally {
      await client.end().catch(() => undefined);
      // A server that never answered leaves the socket half-open after end(): close it.
      (
        client as unknown as { connection?: { stream?: { destroy(): void } } }
      ).connection?.stream?.destroy();
    }
  },

  async mysql(config, address, run, left) {
    let connection: Awaited<ReturnType<typeof mysqlConnection>> | undefined;
    try {
      connection = await run('authentication', `signed in as '${config.user ?? ''}'`, async () => {
        try {
          return await mysqlConnection(mysqlSettings(config, address, left()));
        } catch (error) {
          throw classifyMysql(error, config);
        }
      });
      const open = connection;
      await run('query', 'SELECT 1 answered', async () => {
        try {
          await open.query({ sql: 'SELECT 1', timeout: left() });
        } catch {
          throw new StageFailure('query', 'a trivial query failed');
        }
      });
    } finally {
      await connection?.end().catch(() => undefined);
    }
  },

  async mongodb(config, address, run, left) {
    const client = mongoClient(config, address, left());
    const database = config.database ?? 'test';
    try {
      await run(
        'authentication',
        config.user ? `signed in as '${config.user}'` : 'connected without credentials',
        async () => {
          try {
            await client.connect();
          } catch (error) {
            throw classifyMongoSignIn(error, config);
          }
        },
      );
      await run('permission', `may list collections of '${database}'`, async () => {
        if (!(await hasMongoCollections(client, config, database))) {
          await requireMongoDatabase(client, database);
        }
      });
      await run('query', 'ping answered', async () => {
        await client.db(config.database).command({ ping: 1 });
      });
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};

/** MongoDB's server error codes for a command refused and a sign-in refused. */
const MONGO_UNAUTHORIZED = 13;
const MONGO_AUTHENTICATION_FAILED = 18;

function classifyMongoSignIn(error: unknown, config: ConnectionConfig): StageFailure {
  if ((error as { code?: number }).code !== MONGO_AUTHENTICATION_FAILED) {
    return new StageFailure('authentication', 'the server did not complete the MongoDB handshake');
  }
  const wrong = wrongCredentials(config);
  // Without authSource, MongoDB looks the user up in the database named, which is
  // often not where it was created (hosted servers keep users in 'admin').
  const implied = config.options['authSource'] === undefined ? config.database : undefined;
  return new StageFailure(
    'authentication',
    implied && implied !== 'admin'
      ? `${wrong} (looked up in the database '${implied}'; add authSource=admin, or the database the user was created in, if it is another)`
      : wrong,
  );
}

/** Whether `database` holds any collection, or the permission failure in plain words. */
async function hasMongoCollections(
  client: MongoClient,
  config: ConnectionConfig,
  database: string,
): Promise<boolean> {
  const cursor = client.db(config.database).listCollections({}, { nameOnly: true, batchSize: 1 });
  try {
    return await cursor.hasNext();
  } catch (error) {
    if ((error as { code?: number }).code !== MONGO_UNAUTHORIZED) {
      throw new StageFailure('permission', 'listing collections failed');
    }
    throw new StageFailure(
      'permission',
      config.user
        ? `the user '${config.user}' may not read the database '${database}'`
        : `the server asks for a user name and password to read the database '${database}'`,
    );
  } finally {
    await cursor.close().catch(() => undefined);
  }
}

/** Databases every MongoDB server has, left out of the names a failure suggests. */
const MONGO_SYSTEM_DATABASES = new Set(['admin', 'config', 'local']);
/** At most this many database names are suggested. */
const MONGO_DATABASES_SHOWN = 10;

/**
 * MongoDB creates a database on its first write, so a misspelt name reads as an
 * empty database, never an error, and a task would quietly find nothing. A
 * database without collections is therefore looked for among those the server
 * lists to this user: one that is not there fails the test, naming those that
 * are, so a typo shows — and a sink's new database reads as what it is. A server
 * that will not list databases cannot tell, and the stage passes.
 */
async function requireMongoDatabase(client: MongoClient, database: string): Promise<void> {
  let names: string[];
  try {
    const listed = await client.db().admin().listDatabases({
      nameOnly: true,
      authorizedDatabases: true,
    });
    names = listed.databases.map((entry) => entry.name);
  } catch {
    return;
  }
  if (names.includes(database)) return;
  const others = names.filter((name) => !MONGO_SYSTEM_DATABASES.has(name)).sort();
  const shown = others.slice(0, MONGO_DATABASES_SHOWN).map((name) => `'${name}'`);
  const more = others.length - shown.length;
  throw new StageFailure(
    'permission',
    `the database '${database}' does not exist (MongoDB creates it on the first write); ` +
      (shown.length === 0
        ? 'the user can see no other database'
        : `databases the user can see: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`),
  );
}

async function testS3(
  config: ConnectionConfig,
  policy: NetworkPolicy,
  run: Run,
  left: () => number,
): Promise<void> {
  const client = s3Client(config, policy, left());
  try {
    await run(
      'authentication',
      `signed in, and may list the bucket '${config.bucket ?? ''}'`,
      async () => {
        try {
          await client.send(new ListObjectsV2Command({ Bucket: config.bucket, MaxKeys: 1 }));
        } catch (error) {
          const name = (error as { name?: string }).name;
          if (name === 'NoSuchBucket' || name === 'NotFound') {
            throw new StageFailure(
              'permission',
              `the bucket '${config.bucket ?? ''}' does not exist`,
            );
          }
          if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
            throw new StageFailure('authentication', 'the access key or its secret is wrong');
          }
          if (name === 'AccessDenied') {
            throw new StageFailure(
              'permission',
              `the credentials may not list the bucket '${config.bucket ?? ''}'`,
            );
          }
          throw new StageFailure('authentication', 'the server did not answer as an S3 service');
        }
      },
    );
  } finally {
    client.destroy();
  }
}

function classifyPg(error: unknown, config: ConnectionConfig): StageFailure {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? '';
  if (/does not support SSL|SSL|certificate|self.signed/i.test(message) && !code) {
    return new StageFailure(
      'tls',
      'the TLS handshake failed (sslmode asks for TLS the server cannot give or prove)',
    );
  }
  switch (code) {
    case '28P01':
    case '28000':
      return new StageFailure('authentication', wrongCredentials(config));
    case '3D000':
      return new StageFailure(
        'permission',
        `the database '${config.database ?? ''}' does not exist`,
      );
    case '42501':
      return new StageFailure(
        'permission',
        `the user '${config.user ?? ''}' may not connect to the database '${config.database ?? ''}'`,
      );
    default:
      return new StageFailure(
        'authentication',
        'the server did not complete the PostgreSQL handshake',
      );
  }
}

function classifyMysql(error: unknown, config: ConnectionConfig): StageFailure {
  switch ((error as { code?: string }).code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_NOT_SUPPORTED_AUTH_MODE':
      return new StageFailure('authentication', wrongCredentials(config));
    case 'ER_DBACCESS_DENIED_ERROR':
      return new StageFailure(
        'permission',
        `the user '${config.user ?? ''}' may not use the database '${config.database ?? ''}' (or it does not exist)`,
      );
    case 'ER_BAD_DB_ERROR':
      return new StageFailure(
        'permission',
        `the database '${config.database ?? ''}' does not exist`,
      );
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return new StageFailure(
        'tls',
        'the server does not offer TLS, which the connection string asks for',
      );
    default:
      return new StageFailure('authentication', 'the server did not complete the MySQL handshake');
  }
}

function probeTcp(address: string, port: number, host: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StageFailure('tcp', `no answer from ${host}:${port} (timed out)`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new StageFailure(
          'tcp',
          error.code === 'ECONNREFUSED'
            ? `nothing is listening on ${host}:${port} (connection refused)`
            : error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH'
              ? `${host} cannot be reached from here`
              : `connecting to ${host}:${port} failed`,
        ),
      );
    });
  });
}

/** The words every driver's refused sign-in is reported in (never the password). */
function wrongCredentials(config: ConnectionConfig): string {
  return `the user '${config.user ?? ''}' or its password is wrong`;
}
