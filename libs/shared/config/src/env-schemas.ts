import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';

const SECRET_KEY_FORMAT = 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)';

/** Base64 of exactly 32 bytes: the length AES-256 needs (SecretBox checks it again). */
function isSecretKey(value: string): boolean {
  return Buffer.from(value, 'base64').length === 32;
}

/** Building blocks for service config schemas; one variable, one meaning, everywhere. */
export const env = {
  port: (fallback: number) =>
    z.coerce
      .number({ message: 'must be a port number' })
      .int({ message: 'must be a port number' })
      .min(1, { message: 'must be between 1 and 65535' })
      .max(65535, { message: 'must be between 1 and 65535' })
      .default(fallback),

  host: () => z.string().min(1).default('127.0.0.1'),

  /** `true` or `false` (any case); anything else is refused rather than guessed. */
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'], {
        message: 'must be true or false',
      })
      .transform((value) => value.toLowerCase() === 'true')
      .default(fallback),

  positiveInt: (fallback: number) =>
    z.coerce
      .number({ message: 'must be a positive integer' })
      .int()
      .positive({ message: 'must be a positive integer' })
      .default(fallback),

  nonNegativeInt: (fallback: number) =>
    z.coerce
      .number({ message: 'must be a whole number, 0 or more' })
      .int({ message: 'must be a whole number, 0 or more' })
      .min(0, { message: 'must be a whole number, 0 or more' })
      .default(fallback),

  /** `host:port[,host:port...]` */
  kafkaBrokers: () =>
    z
      .string({ message: 'required: a comma-separated list of host:port' })
      .min(1, { message: 'required: a comma-separated list of host:port' })
      .transform((value) =>
        value
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .refine(
        (brokers) => brokers.length > 0 && brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
        {
          message: 'must be a comma-separated list of host:port, e.g. 127.0.0.1:9092',
        },
      ),

  mongoUrl: () =>
    z
      .string({ message: 'required: a mongodb:// or mongodb+srv:// URL' })
      .regex(/^mongodb(\+srv)?:\/\/[^\s]+$/, {
        message: 'must be a mongodb:// or mongodb+srv:// URL',
      }),

  logLevel: () =>
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** A directory, made absolute against the working directory. */
  directory: (fallback: string) =>
    z
      .string()
      .min(1)
      .default(fallback)
      .transform((dir) => resolvePath(dir)),

  optionalUrl: () => z.string().url({ message: 'must be a URL' }).optional(),
  /** Base64 of 32 random bytes: the key that seals secrets at rest. Required. */
  secretKey: () => z.string().refine(isSecretKey, { message: SECRET_KEY_FORMAT }),

  /**
   * Comma-separated secret keys, each like `secretKey`, none by default: keys
   * values may still be sealed with while a rotation is under way. Problems
   * name a key by its position, never by its value.
   */
  previousSecretKeys: () =>
    z
      .string()
      .default('')
      .transform((value, context) => {
        const keys = value
          .split(',')
          .map((key) => key.trim())
          .filter(Boolean);
        keys.forEach((key, index) => {
          if (!isSecretKey(key)) {
            context.addIssue({
              code: 'custom',
              message: `key ${index + 1} of ${keys.length} ${SECRET_KEY_FORMAT}`,
            });
          }
        });
        return keys;
      }),
};

/** SASL mechanisms CloudFlow's Kafka client offers, as `KAFKA_SASL_MECHANISM` names them. */
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/**
 * How a service reaches Kafka: the brokers, TLS and SASL. Each variable is
 * checked on its own here; how they combine (a mechanism needs a username
 * and a password, a CA file needs TLS) is checked where the client settings
 * are built from them (`kafkaConnectionOf` in @cloudflow/messaging), since
 * object-level refinements would not survive `.extend()` and `.omit()`.
 * Standalone mode reads none of them.
 */
export const KafkaConnectionEnvSchema = z.object({
  KAFKA_BROKERS: env.kafkaBrokers(),
  /** TLS to the brokers. */
  KAFKA_TLS: env.boolean(false),
  /** A PEM file of the CA certificates the brokers' certificates must chain to (with KAFKA_TLS). */
  KAFKA_TLS_CA_FILE: z.string().optional(),
  /** SASL authentication; unset: none. Any case. */
  KAFKA_SASL_MECHANISM: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z.enum(KAFKA_SASL_MECHANISMS, { message: 'must be plain, scram-sha-256 or scram-sha-512' }),
    )
    .optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  /** Never echoed: problems with it name the variable only. */
  KAFKA_SASL_PASSWORD: z.string().optional(),
});
export type KafkaConnectionEnv = z.infer<typeof KafkaConnectionEnvSchema>;

/** The variables of KafkaConnectionEnvSchema, for schemas that leave Kafka out (standalone mode). */
export const KAFKA_CONNECTION_VARIABLES = Object.keys(
  KafkaConnectionEnvSchema.shape,
) as (keyof KafkaConnectionEnv)[];

/** Variables every service reads. */
export const BaseServiceEnvSchema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  ...KafkaConnectionEnvSchema.shape,
  /** Partitions of the task topic when CloudFlow creates it: the most workers busy at once. */
  KAFKA_TASK_PARTITIONS: env.positiveInt(12),
  /** Upper bound for graceful shutdown before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(10_000),
  /**
   * `GET /metrics` (Prometheus) on the service's port, and HTTP request
   * counting. On by default; the port is the pod's, not the Ingress's.
   */
  METRICS_ENABLED: env.boolean(true),
});

/** Variables of services that read or write files of the data root. */
export const DataRootEnvSchema = z.object({
  /** File paths in pipelines and jobs (`/fake/data.csv`) resolve inside it and never escape it. */
  CLOUDFLOW_DATA_DIR: env.directory('data'),
});

/**
 * Variables of services that connect to data sources (broker, scheduler,
 * workers): the outbound network policy, the same in each (ADR 0011).
 */
export const DataSourceNetworkEnvSchema = z.object({
  /** Data sources may reach 127.0.0.0/8 and ::1 (a laptop, tests). Off by default. */
  DATASOURCE_ALLOW_LOOPBACK: env.boolean(false),
  /** Data sources may reach private networks (RFC 1918, CGNAT, fc00::/7). Off by default. */
  DATASOURCE_ALLOW_PRIVATE: env.boolean(false),
  /** Connecting to a data source (and each metadata or planning query) ends within this. */
  DATASOURCE_TIMEOUT_MS: env.positiveInt(10_000),
});

/**
 * Variables of services that seal secrets at rest (auth, datasource-broker)
 * and of `npm run secrets:reseal`. To rotate, the new key becomes
 * CLOUDFLOW_SECRET_KEY and the old one moves to CLOUDFLOW_SECRET_KEY_PREVIOUS
 * until every value is re-sealed (docs/operations/secret-key-rotation.md).
 */
export const SecretKeyEnvSchema = z.object({
  /** Seals every new value; must open (or be listed with) every stored one. Required. */
  CLOUDFLOW_SECRET_KEY: env.secretKey(),
  /** Keys stored values may still be sealed with; they open, never seal. */
  CLOUDFLOW_SECRET_KEY_PREVIOUS: env.previousSecretKeys(),
});

/** Variables of services that keep state in MongoDB. */
export const MongoEnvSchema = z.object({
  MONGO_URL: env.mongoUrl(),
});
