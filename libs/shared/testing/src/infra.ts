import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '@cloudflow/config';

const run = promisify(execFile);

export interface Infra {
  kafkaBrokers: string;
  mongoUrl: string;
  /**
   * A Kafka listener that takes SASL, and its test user: KAFKA_SASL_TEST_*
   * as the test setup exports them. Absent when the environment names
   * servers of its own without one.
   */
  kafkaSasl?: KafkaSaslTestVariables;
  /** Where the endpoints came from, for the test log. */
  origin: 'environment' | 'local-infra' | 'testcontainers';
  stop(): Promise<void>;
}

/**
 * The SASL listener of the test Kafka: its `host:port`, a user it takes, that
 * user's password, and the mechanisms it offers for them (comma-separated
 * KAFKA_SASL_MECHANISM values; `plain` when unset).
 */
export const KAFKA_SASL_TEST_VARIABLES = [
  'KAFKA_SASL_TEST_BROKERS',
  'KAFKA_SASL_TEST_USERNAME',
  'KAFKA_SASL_TEST_PASSWORD',
  'KAFKA_SASL_TEST_MECHANISMS',
] as const;
export type KafkaSaslTestVariables = Record<(typeof KAFKA_SASL_TEST_VARIABLES)[number], string>;

/** KAFKA_SASL_TEST_* from `vars` when the listener, user and password are all named. */
function kafkaSaslOf(vars: Record<string, string | undefined>): KafkaSaslTestVariables | undefined {
  const brokers = vars['KAFKA_SASL_TEST_BROKERS'];
  const username = vars['KAFKA_SASL_TEST_USERNAME'];
  const password = vars['KAFKA_SASL_TEST_PASSWORD'];
  if (!brokers || !username || !password) return undefined;
  return {
    KAFKA_SASL_TEST_BROKERS: brokers,
    KAFKA_SASL_TEST_USERNAME: username,
    KAFKA_SASL_TEST_PASSWORD: password,
    KAFKA_SASL_TEST_MECHANISMS: vars['KAFKA_SASL_TEST_MECHANISMS'] || 'plain',
  };
}

/** The repository root, wherever the test runs from. */
export const REPO_ROOT = resolve(__dirname, '../../../..');

/**
 * Real Kafka and a real MongoDB-wire server for integration and end-to-end
 * tests, in this order of preference:
 *  1. KAFKA_BROKERS and MONGO_URL from the environment (existing servers);
 *  2. Docker: testcontainers with the official apache/kafka and mongo images;
 *  3. no Docker: `deploy/local/infra up` (Kafka from Maven Central jars and
 *     FerretDB built from its Go module, cached outside the repository).
 */
export async function provideInfra(env: NodeJS.ProcessEnv = process.env): Promise<Infra> {
  const brokers = env['KAFKA_BROKERS'];
  const mongo = env['MONGO_URL'];
  if (brokers && mongo)
    return {
      kafkaBrokers: brokers,
      mongoUrl: mongo,
      kafkaSasl: kafkaSaslOf(env),
      origin: 'environment',
      stop: nothingToStop,
    };
  if (env['CLOUDFLOW_TEST_INFRA'] !== 'local' && (await dockerAvailable()))
    return startContainers();
  return startLocalInfra();
}

/** Servers this harness did not start are left running. */
const nothingToStop = (): Promise<void> => Promise.resolve();

async function dockerAvailable(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs `script up`, then answers the variables `script env` prints. */
async function upAndEnv(script: string): Promise<Record<string, string | undefined>> {
  await run('bash', [script, 'up'], { timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  const { stdout } = await run('bash', [script, 'env'], { timeout: 10_000 });
  return Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^(?:export\s+)?([A-Z0-9_]+)=["']?([^"'\s]*)["']?$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

/**
 * The variables that name the connector test servers: PostgreSQL, MariaDB, an
 * S3-compatible server that takes any credentials, and one that checks them
 * (with the access key it accepts), so a wrong secret can be seen refused; and
 * a MongoDB-wire server that checks passwords (a URL with its test user's), as
 * the one MONGO_URL names lets anyone in.
 */
export const DATABASE_VARIABLES = [
  'CLOUDFLOW_TEST_POSTGRES_URL',
  'CLOUDFLOW_TEST_MYSQL_URL',
  'CLOUDFLOW_TEST_S3_ENDPOINT',
  'CLOUDFLOW_TEST_NOACCESS_USER',
  'CLOUDFLOW_TEST_S3_AUTH_ENDPOINT',
  'CLOUDFLOW_TEST_S3_AUTH_ACCESS_KEY',
  'CLOUDFLOW_TEST_S3_AUTH_SECRET_KEY',
  'CLOUDFLOW_TEST_MONGO_AUTH_URL',
] as const;

/**
 * PostgreSQL, MariaDB, the S3-compatible servers and the password-checking
 * MongoDB-wire server for connector tests: the ones the environment names, or
 * `deploy/local/databases up` (Debian packages and PyPI, installed when
 * missing; FerretDB built by `deploy/local/infra`).
 */
export async function provideDatabases(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<(typeof DATABASE_VARIABLES)[number], string>> {
  const vars = DATABASE_VARIABLES.every((name) => env[name])
    ? env
    : await upAndEnv(resolve(REPO_ROOT, 'deploy/local/databases'));
  const missing = DATABASE_VARIABLES.filter((name) => !vars[name]);
  if (missing.length > 0) throw new Error(`no test databases: ${missing.join(', ')} unset`);
  return Object.fromEntries(DATABASE_VARIABLES.map((name) => [name, vars[name] ?? ''])) as Record<
    (typeof DATABASE_VARIABLES)[number],
    string
  >;
}

async function startLocalInfra(): Promise<Infra> {
  const vars = await upAndEnv(resolve(REPO_ROOT, 'deploy/local/infra'));
  const stdout = JSON.stringify(vars);
  const kafkaBrokers = vars['KAFKA_BROKERS'];
  const mongoUrl = vars['MONGO_URL'];
  if (!kafkaBrokers || !mongoUrl)
    throw new Error(`deploy/local/infra env printed no endpoints:\n${stdout}`);
  // Left running on purpose: `deploy/local/infra down` stops it; the test command does so at the end.
  return {
    kafkaBrokers,
    mongoUrl,
    kafkaSasl: kafkaSaslOf(vars),
    origin: 'local-infra',
    stop: nothingToStop,
  };
}

async function startContainers(): Promise<Infra> {
  // Loaded only where Docker exists: testcontainers throws at once without a runtime.
  const { GenericContainer, Wait } = await import('testcontainers');
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  const kafkaPort = await freePort();
  const saslPort = await freePort();
  // As deploy/local/infra: a SASL_PLAINTEXT listener with one static PLAIN test user.
  const sasl = { username: 'cloudflow', password: 'cloudflow-kafka-test-pw' };
  const kafka = await new GenericContainer('apache/kafka:4.1.1')
    .withExposedPorts({ container: 9092, host: kafkaPort }, { container: 9094, host: saslPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093,SASL_PLAINTEXT://:9094',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
        'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
      KAFKA_SASL_ENABLED_MECHANISMS: 'PLAIN',
      // The image maps `__` to `_` and `_` to `.`: listener.name.sasl_plaintext.plain.sasl.jaas.config.
      KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG: `org.apache.kafka.common.security.plain.PlainLoginModule required user_${sasl.username}="${sasl.password}";`,
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const mongo = await new MongoDBContainer('mongo:8.0').start();
  return {
    kafkaBrokers: `127.0.0.1:${kafkaPort}`,
    mongoUrl: `${mongo.getConnectionString()}/cloudflow?directConnection=true`,
    kafkaSasl: {
      KAFKA_SASL_TEST_BROKERS: `127.0.0.1:${saslPort}`,
      KAFKA_SASL_TEST_USERNAME: sasl.username,
      KAFKA_SASL_TEST_PASSWORD: sasl.password,
      KAFKA_SASL_TEST_MECHANISMS: 'plain',
    },
    origin: 'testcontainers',
    stop: async () => {
      await kafka.stop();
      await mongo.stop();
    },
  };
}

export const freePort = freeLoopbackPort;

/** The same server with a database of its own, so test runs never see each other's data. */
export function withDatabase(mongoUrl: string, database: string): string {
  const url = new URL(mongoUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A variable the integration and e2e setup exports (a test server's address
 * or credentials); a clear error when a test runs without that setup.
 */
export function testEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the test setup starts the test servers`);
  return value;
}
