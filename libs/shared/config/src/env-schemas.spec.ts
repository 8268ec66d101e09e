import { randomBytes } from 'node:crypto';
import {
  BaseServiceEnvSchema,
  KAFKA_CONNECTION_VARIABLES,
  KafkaConnectionEnvSchema,
  SecretKeyEnvSchema,
} from './env-schemas';
import { ConfigError, loadConfig } from './load-config';

const key = () => randomBytes(32).toString('base64');

function problemsOf(vars: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(SecretKeyEnvSchema, vars);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('SecretKeyEnvSchema', () => {
  it('requires CLOUDFLOW_SECRET_KEY and has no previous keys by default', () => {
    const current = key();
    expect(loadConfig(SecretKeyEnvSchema, { CLOUDFLOW_SECRET_KEY: current })).toEqual({
      CLOUDFLOW_SECRET_KEY: current,
      CLOUDFLOW_SECRET_KEY_PREVIOUS: [],
    });
    expect(
      loadConfig(SecretKeyEnvSchema, {
        CLOUDFLOW_SECRET_KEY: current,
        CLOUDFLOW_SECRET_KEY_PREVIOUS: '',
      }),
    ).toMatchObject({ CLOUDFLOW_SECRET_KEY_PREVIOUS: [] });
    expect(problemsOf({})).toEqual(['CLOUDFLOW_SECRET_KEY: required but not set']);
  });

  it('splits CLOUDFLOW_SECRET_KEY_PREVIOUS at commas, ignoring spaces and empty entries', () => {
    const [a, b] = [key(), key()];
    const config = loadConfig(SecretKeyEnvSchema, {
      CLOUDFLOW_SECRET_KEY: key(),
      CLOUDFLOW_SECRET_KEY_PREVIOUS: ` ${a} ,${b},`,
    });
    expect(config.CLOUDFLOW_SECRET_KEY_PREVIOUS).toEqual([a, b]);
  });

  it('names a previous key that is not 32 bytes by its position, never by its value', () => {
    const short = randomBytes(16).toString('base64');
    const problems = problemsOf({
      CLOUDFLOW_SECRET_KEY: key(),
      CLOUDFLOW_SECRET_KEY_PREVIOUS: `${key()},${short}`,
    });
    expect(problems).toEqual([
      'CLOUDFLOW_SECRET_KEY_PREVIOUS: key 2 of 2 must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    ]);
    expect(problems.join('\n')).not.toContain(short);
  });

  it('checks CLOUDFLOW_SECRET_KEY the same way without quoting it', () => {
    const short = randomBytes(31).toString('base64');
    const problems = problemsOf({ CLOUDFLOW_SECRET_KEY: short });
    expect(problems).toEqual([
      'CLOUDFLOW_SECRET_KEY: must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    ]);
    expect(problems.join('\n')).not.toContain(short);
  });
});

describe('KafkaConnectionEnvSchema', () => {
  const brokers = { KAFKA_BROKERS: 'kafka-1:9093' };

  function kafkaProblemsOf(vars: NodeJS.ProcessEnv): string[] {
    try {
      loadConfig(KafkaConnectionEnvSchema, vars);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected loadConfig to throw a ConfigError');
  }

  it('means plaintext without SASL when only the brokers are set (empty values count as unset)', () => {
    expect(loadConfig(KafkaConnectionEnvSchema, brokers)).toEqual({
      KAFKA_BROKERS: ['kafka-1:9093'],
      KAFKA_TLS: false,
    });
    expect(
      loadConfig(KafkaConnectionEnvSchema, {
        ...brokers,
        KAFKA_TLS: '',
        KAFKA_TLS_CA_FILE: '',
        KAFKA_SASL_MECHANISM: '',
        KAFKA_SASL_USERNAME: '',
        KAFKA_SASL_PASSWORD: '',
      }),
    ).toEqual({ KAFKA_BROKERS: ['kafka-1:9093'], KAFKA_TLS: false });
  });

  it('reads TLS as a boolean and the mechanism in any case, as the chart writes them', () => {
    expect(
      loadConfig(KafkaConnectionEnvSchema, {
        ...brokers,
        KAFKA_TLS: 'true',
        KAFKA_TLS_CA_FILE: '/etc/kafka-ca/ca.crt',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'cloudflow',
        KAFKA_SASL_PASSWORD: ' pass word ',
      }),
    ).toEqual({
      KAFKA_BROKERS: ['kafka-1:9093'],
      KAFKA_TLS: true,
      KAFKA_TLS_CA_FILE: '/etc/kafka-ca/ca.crt',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'cloudflow',
      // Passwords are taken as given, spaces and all.
      KAFKA_SASL_PASSWORD: ' pass word ',
    });
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512']) {
      expect(
        loadConfig(KafkaConnectionEnvSchema, { ...brokers, KAFKA_SASL_MECHANISM: mechanism }),
      ).toMatchObject({ KAFKA_SASL_MECHANISM: mechanism });
    }
  });

  it('refuses an unknown mechanism or a TLS flag other than true/false, naming the variable', () => {
    expect(
      kafkaProblemsOf({ ...brokers, KAFKA_TLS: 'yes', KAFKA_SASL_MECHANISM: 'gssapi' }),
    ).toEqual([
      'KAFKA_TLS: must be true or false',
      'KAFKA_SASL_MECHANISM: must be plain, scram-sha-256 or scram-sha-512',
    ]);
  });

  it('is part of every service schema, and can be left out whole (standalone mode)', () => {
    expect(Object.keys(BaseServiceEnvSchema.shape)).toEqual(
      expect.arrayContaining(KAFKA_CONNECTION_VARIABLES),
    );
    const withoutKafka = BaseServiceEnvSchema.omit(
      Object.fromEntries(KAFKA_CONNECTION_VARIABLES.map((name) => [name, true])) as never,
    );
    // Kafka variables left in the environment are not read, not even checked.
    expect(
      loadConfig(withoutKafka, { KAFKA_SASL_MECHANISM: 'bogus', KAFKA_TLS: 'maybe' }),
    ).not.toHaveProperty('KAFKA_TLS');
  });
});
