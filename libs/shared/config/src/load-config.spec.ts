import { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from './env-schemas';
import { ConfigError, loadConfig } from './load-config';

/** A service schema built like the real ones. */
const ServiceSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape).extend({
  PORT: env.port(8080),
  RPC_TIMEOUT_MS: env.positiveInt(5_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
});

const VALID = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  MONGO_URL: 'mongodb://127.0.0.1:27017/cloudflow',
};

function configErrorOf(vars: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(ServiceSchema, vars);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  it('applies the defaults of every variable left out', () => {
    expect(loadConfig(ServiceSchema, { ...VALID })).toEqual({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_TLS: false,
      KAFKA_TASK_PARTITIONS: 12,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      METRICS_ENABLED: true,
      MONGO_URL: 'mongodb://127.0.0.1:27017/cloudflow',
      PORT: 8080,
      RPC_TIMEOUT_MS: 5_000,
    });
  });

  it('parses the values given, coercing numbers and splitting the broker list', () => {
    const config = loadConfig(ServiceSchema, {
      ...VALID,
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9093,,',
      MONGO_URL: 'mongodb+srv://user:pw@cluster.example.net/db',
      PORT: '3000',
      NODE_ENV: 'test',
      LOG_LEVEL: 'debug',
      RPC_TIMEOUT_MS: '250',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['kafka-1:9092', 'kafka-2:9093'],
      MONGO_URL: 'mongodb+srv://user:pw@cluster.example.net/db',
      PORT: 3000,
      NODE_ENV: 'test',
      LOG_LEVEL: 'debug',
      RPC_TIMEOUT_MS: 250,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
  });

  it('reads process.env when no environment is passed', () => {
    const schema = z.object({ CLOUDFLOW_LOAD_CONFIG_SPEC: z.string() });
    process.env['CLOUDFLOW_LOAD_CONFIG_SPEC'] = 'from-process-env';
    try {
      expect(loadConfig(schema)).toEqual({ CLOUDFLOW_LOAD_CONFIG_SPEC: 'from-process-env' });
    } finally {
      delete process.env['CLOUDFLOW_LOAD_CONFIG_SPEC'];
    }
  });

  it('names a missing variable as required but not set', () => {
    const error = configErrorOf({ KAFKA_BROKERS: VALID.KAFKA_BROKERS });
    expect(error.problems).toEqual(['MONGO_URL: required but not set']);
    expect(error.message).toContain('MONGO_URL: required but not set');
    expect(error.name).toBe('ConfigError');
  });

  it('treats an empty variable as not set', () => {
    expect(configErrorOf({ ...VALID, KAFKA_BROKERS: '' }).problems).toEqual([
      'KAFKA_BROKERS: required but not set',
    ]);
  });

  it.each([
    ['not a number', 'http', 'PORT: must be a port number'],
    ['a fraction', '80.5', 'PORT: must be a port number'],
    ['zero', '0', 'PORT: must be between 1 and 65535'],
    ['too large', '65536', 'PORT: must be between 1 and 65535'],
    ['negative', '-1', 'PORT: must be between 1 and 65535'],
  ])('names a port that is %s with the reason', (_label, PORT, problem) => {
    expect(configErrorOf({ ...VALID, PORT }).problems).toEqual([problem]);
  });

  it.each([
    ['without a port', 'kafka'],
    ['with a URL scheme', 'kafka://kafka:9092'],
    ['with a bad second entry', 'kafka-1:9092,kafka-2'],
    ['with a non-numeric port', 'kafka:port'],
    ['of separators only', ' , ,'],
  ])('names a broker list %s with the reason', (_label, KAFKA_BROKERS) => {
    expect(configErrorOf({ ...VALID, KAFKA_BROKERS }).problems).toEqual([
      'KAFKA_BROKERS: must be a comma-separated list of host:port, e.g. 127.0.0.1:9092',
    ]);
  });

  it.each([
    'postgres://db:5432/x',
    'http://mongo:27017',
    'mongodb://',
    'mongodb://host name/db',
    '127.0.0.1:27017',
  ])('names the mongo URL %p with the reason', (MONGO_URL) => {
    expect(configErrorOf({ ...VALID, MONGO_URL }).problems).toEqual([
      'MONGO_URL: must be a mongodb:// or mongodb+srv:// URL',
    ]);
  });

  it('does not put the rejected value of a variable in the problem', () => {
    const MONGO_URL = 'mongo://admin:hunter2-secret@db:27017';
    const error = configErrorOf({ ...VALID, MONGO_URL });
    expect(error.message).not.toContain('hunter2');
    expect(error.problems.join('\n')).not.toContain('hunter2');
  });

  it('names a positive integer that is not one', () => {
    expect(configErrorOf({ ...VALID, RPC_TIMEOUT_MS: '0' }).problems).toEqual([
      'RPC_TIMEOUT_MS: must be a positive integer',
    ]);
    expect(configErrorOf({ ...VALID, RPC_TIMEOUT_MS: 'soon' }).problems).toEqual([
      'RPC_TIMEOUT_MS: must be a positive integer',
    ]);
  });

  it('names a value outside an enumeration', () => {
    const [problem] = configErrorOf({ ...VALID, LOG_LEVEL: 'verbose' }).problems;
    expect(problem).toMatch(/^LOG_LEVEL: /);
    expect(problem).toContain('debug');
  });

  it('reports every problem at once in one ConfigError', () => {
    const error = configErrorOf({ PORT: '99999', KAFKA_BROKERS: 'kafka', NODE_ENV: 'staging' });
    expect(error.problems).toHaveLength(4);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        'PORT: must be between 1 and 65535',
        'KAFKA_BROKERS: must be a comma-separated list of host:port, e.g. 127.0.0.1:9092',
        'MONGO_URL: required but not set',
        expect.stringMatching(/^NODE_ENV: /),
      ]),
    );
    for (const problem of error.problems) expect(error.message).toContain(`  - ${problem}`);
    expect(error.message.startsWith('Invalid configuration:\n')).toBe(true);
  });
});
