import { z } from 'zod';
import { pageSchema } from '../pipelines/pipeline';

/** What `type` may say; `database` lets the connection string choose (PostgreSQL by default). */
export const DATA_SOURCE_TYPE_NAMES = [
  'postgres',
  'mysql',
  'mongodb',
  's3',
  'file',
  'database',
] as const;

/** Body of `POST /api/v1/datasources`: the published `{type, connectionString}`, and a name. */
export const CreateDataSourceRequestSchema = z.strictObject({
  type: z.enum(DATA_SOURCE_TYPE_NAMES),
  connectionString: z.string().min(1).max(4096),
  /** Defaults to the driver and host, e.g. `postgres fake-db`. */
  name: z.string().trim().min(1).max(200).optional(),
});
export type CreateDataSourceRequest = z.infer<typeof CreateDataSourceRequestSchema>;

/** Body of `PUT /api/v1/datasources/{id}`: the fields given replace the stored ones. */
export const UpdateDataSourceRequestSchema = z
  .strictObject({
    type: z.enum(DATA_SOURCE_TYPE_NAMES).optional(),
    connectionString: z.string().min(1).max(4096).optional(),
    name: z.string().trim().min(1).max(200).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change' });
export type UpdateDataSourceRequest = z.infer<typeof UpdateDataSourceRequestSchema>;

/** A data source as the API shows it: the connection string with its password redacted. */
export const DataSourceSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(DATA_SOURCE_TYPE_NAMES),
  driver: z.enum(['postgres', 'mysql', 'mongodb', 's3', 'file']),
  /** Canonical URL form, the password shown as `****`. */
  connectionString: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DataSource = z.infer<typeof DataSourceSchema>;

export const DataSourcePageSchema = pageSchema(DataSourceSchema);

/**
 * A connection string on its way from the gateway to the broker: a compact
 * JWE (ECDH-ES, A256GCM) to the broker's transit key, so no password is
 * readable in a Kafka message.
 */
export const SealedConnectionStringSchema = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

/** The broker's public transit keys (JWK), for the gateway to seal connection strings to. */
export const TransitKeysSchema = z.object({
  keys: z.array(z.record(z.string(), z.unknown())).min(1),
});
export type TransitKeys = z.infer<typeof TransitKeysSchema>;

/** Body of `POST /api/v1/datasources/test`: the published `{connectionString}`, `type` optional. */
export const TestConnectionRequestSchema = z.strictObject({
  connectionString: z.string().min(1).max(4096),
  /** Defaults to what the string says (its scheme; key=value strings: a database). */
  type: z.enum(DATA_SOURCE_TYPE_NAMES).optional(),
});
export type TestConnectionRequest = z.infer<typeof TestConnectionRequestSchema>;

export const CONNECTION_TEST_STAGES = [
  'policy',
  'dns',
  'tcp',
  'tls',
  'authentication',
  'permission',
  'query',
] as const;

/** What a connection test found: each stage run, in order; the last failed unless `ok`. */
export const ConnectionTestResultSchema = z.object({
  ok: z.boolean(),
  driver: z.enum(['postgres', 'mysql', 'mongodb', 's3', 'file']),
  stages: z.array(
    z.object({
      stage: z.enum(CONNECTION_TEST_STAGES),
      ok: z.boolean(),
      durationMs: z.number().int().nonnegative(),
      message: z.string(),
    }),
  ),
  message: z.string(),
});
export type ConnectionTestResult = z.infer<typeof ConnectionTestResultSchema>;

/** What `GET /api/v1/datasources/{id}/metadata` answers: a database's tables or a bucket's objects. */
export const DataSourceMetadataSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('database'),
    driver: z.enum(['postgres', 'mysql', 'mongodb']),
    /** Tables (collections), at most 200, each with columns (fields) and a row estimate. */
    tables: z.array(
      z.object({
        name: z.string(),
        /** From the server's statistics, not a count; null when it has none yet. */
        rowEstimate: z.number().int().nonnegative().nullable(),
        columns: z.array(z.object({ name: z.string(), type: z.string(), nullable: z.boolean() })),
      }),
    ),
  }),
  z.object({
    kind: z.literal('bucket'),
    driver: z.literal('s3'),
    bucket: z.string(),
    /** The key prefix the data source names, if any. */
    prefix: z.string(),
    /** At most 1,000 objects under the prefix, with their sizes. */
    objects: z.array(
      z.object({
        key: z.string(),
        size: z.number().int().nonnegative(),
        lastModified: z.string().nullable(),
      }),
    ),
    /** More objects exist than are listed. */
    truncated: z.boolean(),
  }),
  z.object({
    kind: z.literal('file'),
    driver: z.literal('file'),
    path: z.string(),
    format: z.enum(['csv', 'jsonl']),
    size: z.number().int().nonnegative(),
    /** The header's names (or the fields found), with types inferred from the first records. */
    columns: z.array(
      z.object({
        name: z.string(),
        type: z.enum(['integer', 'number', 'boolean', 'date', 'datetime', 'string', 'empty']),
      }),
    ),
    rowEstimate: z.number().int().nonnegative(),
    /** The estimate is a count: the first records were the whole file. */
    exact: z.boolean(),
  }),
  /** A file data source naming a directory (`/path/`): its files, for steps to name by `path`. */
  z.object({
    kind: z.literal('directory'),
    driver: z.literal('file'),
    path: z.string(),
    /** At most 1,000 regular files directly in the directory, by name, with their sizes. */
    files: z.array(z.object({ name: z.string(), size: z.number().int().nonnegative() })),
    truncated: z.boolean(),
  }),
]);
export type DataSourceMetadata = z.infer<typeof DataSourceMetadataSchema>;

/**
 * Which data source a pipeline step or job input means: by id or name, or
 * (for an `s3://bucket/key` input) the S3 data source of that bucket.
 */
export const DataSourceLookupSchema = z.union([
  z.strictObject({ ref: z.string().min(1).max(200) }),
  z.strictObject({ bucket: z.string().min(1).max(255), key: z.string().max(1024) }),
]);
export type DataSourceLookup = z.infer<typeof DataSourceLookupSchema>;

/** A data source's identity and where it points, without credentials. */
export const DataSourceRefSchema = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.enum(['postgres', 'mysql', 'mongodb', 's3', 'file']),
  /** S3: the bucket and the key or prefix the connection string names. */
  bucket: z.string().optional(),
  key: z.string().optional(),
  /** File: the path inside the data root. */
  path: z.string().optional(),
});
export type DataSourceRef = z.infer<typeof DataSourceRefSchema>;

/**
 * A data source's connection string for a CloudFlow service that runs a
 * job's work, sealed (compact JWE, ECDH-ES + A256GCM) to the one-off public
 * key the service sent with its request: readable by that process alone.
 */
export const OpenedDataSourceSchema = z.object({
  id: z.string(),
  type: z.enum(DATA_SOURCE_TYPE_NAMES),
  sealed: SealedConnectionStringSchema,
});
export type OpenedDataSource = z.infer<typeof OpenedDataSourceSchema>;
