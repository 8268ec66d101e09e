import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevel } from 'kafkajs';
import { ConfigError, KafkaConnectionEnvSchema, loadConfig } from '@cloudflow/config';
import {
  createKafka,
  kafkaClientConfig,
  kafkaConnectionOf,
  type KafkaLogSink,
  type KafkaSettings,
} from './kafka-settings';

const PASSWORD = 'hunter2-Kafka-secret';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** A sink that keeps every line kafkajs (or CloudFlow about Kafka) logs. */
function recordingSink(): KafkaLogSink & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, meta?: object) => lines.push(`${message} ${JSON.stringify(meta)}`);
  return { lines, error: keep, warn: keep, info: keep, debug: keep };
}

/** The environment as a service reads it: parsed by the schema, then combined. */
function connectionFrom(vars: NodeJS.ProcessEnv, readCaFile?: (path: string) => string) {
  return kafkaConnectionOf(
    loadConfig(KafkaConnectionEnvSchema, { KAFKA_BROKERS: 'kafka-1:9093,kafka-2:9093', ...vars }),
    readCaFile,
  );
}

function problemsOf(vars: NodeJS.ProcessEnv, readCaFile?: (path: string) => string): string[] {
  try {
    connectionFrom(vars, readCaFile);
  } catch (error) {
    if (error instanceof ConfigError) {
      // Neither the problems nor the message a service prints may carry the password.
      expect(error.message).not.toContain(PASSWORD);
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function clientConfigOf(vars: NodeJS.ProcessEnv, readCaFile?: (path: string) => string) {
  const settings: KafkaSettings = { ...connectionFrom(vars, readCaFile), service: 'gateway' };
  return kafkaClientConfig(settings, recordingSink());
}

describe('Kafka client settings from the environment', () => {
  it('connects in plaintext without SASL when only KAFKA_BROKERS is set', () => {
    expect(connectionFrom({})).toEqual({ brokers: ['kafka-1:9093', 'kafka-2:9093'] });
    const config = clientConfigOf({ KAFKA_TLS: 'false' });
    expect(config).toMatchObject({
      brokers: ['kafka-1:9093', 'kafka-2:9093'],
      clientId: 'cloudflow-gateway',
      logLevel: logLevel.WARN,
    });
    expect(config).not.toHaveProperty('ssl');
    expect(config).not.toHaveProperty('sasl');
  });

  it('turns TLS on with the bundled public CAs, or with the CA file given', () => {
    expect(clientConfigOf({ KAFKA_TLS: 'true' }).ssl).toBe(true);

    const read = jest.fn(() => PEM);
    const config = clientConfigOf({ KAFKA_TLS: 'TRUE', KAFKA_TLS_CA_FILE: '/etc/ca.pem' }, read);
    expect(read).toHaveBeenCalledWith('/etc/ca.pem');
    expect(config.ssl).toEqual({ ca: [PEM] });
  });

  it('reads the CA file from disk, and names a missing or non-PEM one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudflow-kafka-ca-'));
    try {
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, PEM);
      expect(connectionFrom({ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: ca }).tls).toEqual({ ca: PEM });

      const missing = join(dir, 'missing.pem');
      expect(problemsOf({ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: missing })).toEqual([
        `KAFKA_TLS_CA_FILE: cannot read ${missing} (ENOENT)`,
      ]);
      const key = join(dir, 'key.pem');
      writeFileSync(key, '-----BEGIN PRIVATE KEY-----\n');
      expect(problemsOf({ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: key })).toEqual([
        `KAFKA_TLS_CA_FILE: ${key} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a CA file without TLS rather than connecting in plaintext', () => {
    expect(problemsOf({ KAFKA_TLS_CA_FILE: '/etc/ca.pem' }, () => PEM)).toEqual([
      'KAFKA_TLS_CA_FILE: only used with TLS: set KAFKA_TLS=true as well, or unset it',
    ]);
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)(
    'authenticates with SASL %s, with or without TLS',
    (mechanism) => {
      const vars = {
        KAFKA_SASL_MECHANISM: mechanism.toUpperCase(),
        KAFKA_SASL_USERNAME: 'cloudflow',
        KAFKA_SASL_PASSWORD: PASSWORD,
      };
      expect(clientConfigOf(vars).sasl).toEqual({
        mechanism,
        username: 'cloudflow',
        password: PASSWORD,
      });
      const overTls = clientConfigOf({ ...vars, KAFKA_TLS: 'true' });
      expect(overTls.ssl).toBe(true);
      expect(overTls.sasl).toEqual({ mechanism, username: 'cloudflow', password: PASSWORD });
    },
  );

  it('refuses a mechanism without a username or a password', () => {
    expect(
      problemsOf({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'cloudflow' }),
    ).toEqual(['KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set']);
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: PASSWORD })).toEqual([
      'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set',
    ]);
    // As the chart renders an empty username: empty counts as unset.
    expect(
      problemsOf({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: '',
        KAFKA_SASL_PASSWORD: '',
      }),
    ).toEqual([
      'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set',
      'KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set',
    ]);
  });

  it('refuses credentials without a mechanism, naming the variables but never the password', () => {
    const problems = problemsOf({
      KAFKA_SASL_USERNAME: 'cloudflow',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    expect(problems).toEqual([
      'KAFKA_SASL_USERNAME: set, but KAFKA_SASL_MECHANISM is not: name the mechanism (plain, scram-sha-256 or scram-sha-512), or unset it',
      'KAFKA_SASL_PASSWORD: set, but KAFKA_SASL_MECHANISM is not: name the mechanism (plain, scram-sha-256 or scram-sha-512), or unset it',
    ]);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  it('reports every problem at once', () => {
    expect(
      problemsOf({ KAFKA_TLS_CA_FILE: '/etc/ca.pem', KAFKA_SASL_MECHANISM: 'plain' }, () => PEM),
    ).toEqual([
      'KAFKA_TLS_CA_FILE: only used with TLS: set KAFKA_TLS=true as well, or unset it',
      'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set',
      'KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set',
    ]);
    expect(kafkaConnectionOfEmpty()).toEqual(['KAFKA_BROKERS: required but not set']);
  });

  it('warns that PLAIN without TLS sends the password in clear, without logging it', () => {
    const sink = recordingSink();
    const sasl = { mechanism: 'plain' as const, username: 'cloudflow', password: PASSWORD };
    createKafka({ brokers: ['kafka-1:9093'], service: 'gateway', sasl }, sink);
    expect(sink.lines).toEqual([
      expect.stringContaining('SASL PLAIN without TLS sends the password in clear'),
    ]);

    const quiet = recordingSink();
    createKafka({ brokers: ['kafka-1:9093'], service: 'gateway', sasl, tls: {} }, quiet);
    createKafka(
      {
        brokers: ['kafka-1:9093'],
        service: 'gateway',
        sasl: { ...sasl, mechanism: 'scram-sha-512' },
      },
      quiet,
    );
    expect(quiet.lines).toEqual([]);
    expect([...sink.lines, ...quiet.lines].join('\n')).not.toContain(PASSWORD);
  });

  it('routes kafkajs log lines into the sink by level', () => {
    const sink = recordingSink();
    const config = kafkaClientConfig({ brokers: ['kafka-1:9093'], service: 'worker' }, sink);
    const log = config.logCreator!(logLevel.WARN);
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 'now', message: 'Connection error', broker: 'kafka-1:9093' },
    });
    expect(sink.lines).toEqual([
      'kafka: Connection error {"timestamp":"now","broker":"kafka-1:9093"}',
    ]);
  });
});

function kafkaConnectionOfEmpty(): string[] {
  try {
    kafkaConnectionOf({});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
