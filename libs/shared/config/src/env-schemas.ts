import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';

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
  secretKey: () =>
    z.string().refine((value) => Buffer.from(value, 'base64').length === 32, {
      message: 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    }),
};

/** Variables every service reads. */
export const BaseServiceEnvSchema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  KAFKA_BROKERS: env.kafkaBrokers(),
  /** Partitions of the task topic when CloudFlow creates it: the most workers busy at once. */
  KAFKA_TASK_PARTITIONS: env.positiveInt(12),
  /** Upper bound for graceful shutdown before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(10_000),
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

/** Variables of services that keep state in MongoDB. */
export const MongoEnvSchema = z.object({
  MONGO_URL: env.mongoUrl(),
});
