import { z } from 'zod';

/**
 * A path inside the data root (`CLOUDFLOW_DATA_DIR`), written as an absolute path
 * such as `/fake/data.csv`. Checked here for shape only; the worker resolves it
 * against the root and refuses anything that escapes it.
 */
export const DataPathSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.includes('\0'), { message: 'must not contain NUL bytes' })
  .refine((p) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(p), {
    message: 'must be a path inside the data root, not a URL',
  })
  .refine((p) => !decodeSafely(p).split(/[\\/]/).includes('..'), {
    message: "must not contain '..' segments",
  });

function decodeSafely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export const FILE_FORMATS = ['csv', 'jsonl'] as const;

const CsvOptionsSchema = z.strictObject({
  delimiter: z.string().length(1).optional(),
  quote: z.string().length(1).optional(),
  header: z.boolean().optional(),
});

/** A data source by id (`ds_...`) or by its name in the workspace. */
export const StepDataSourceSchema = z.string().trim().min(1).max(200);

/** A table (`schema.table` or `table`), collection or column name as the database knows it. */
const DatabaseNameSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((n) => !n.includes('\0'), { message: 'must not contain NUL bytes' });

/** An object key inside a bucket (or under the data source's prefix). */
const ObjectKeySchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((k) => !k.includes('\0'), { message: 'must not contain NUL bytes' });

/**
 * What a step names inside a data source: a `table` (PostgreSQL, MySQL), a
 * `collection` (MongoDB), an `object` key (S3) or a `path` (a file data
 * source naming a directory; one naming a file needs nothing). Which one
 * fits is checked against the data source's type when a job is submitted.
 */
const DataSourceTargetShape = {
  datasource: StepDataSourceSchema,
  table: DatabaseNameSchema.optional(),
  collection: DatabaseNameSchema.optional(),
  object: ObjectKeySchema.optional(),
  /** Relative to the file data source's directory; never outside the data root. */
  path: DataPathSchema.optional(),
};

export const FileSourceConfigSchema = z.strictObject({
  path: DataPathSchema,
  format: z.enum(FILE_FORMATS).optional(),
  csv: CsvOptionsSchema.optional(),
});

export const DataSourceSourceConfigSchema = z.strictObject({
  ...DataSourceTargetShape,
  /** Tables: the column whose ranges split the table into tasks (default: the primary key). */
  splitKey: DatabaseNameSchema.optional(),
  format: z.enum(FILE_FORMATS).optional(),
  csv: CsvOptionsSchema.optional(),
});

export const SourceConfigSchema = z.union([FileSourceConfigSchema, DataSourceSourceConfigSchema]);
export type SourceConfig = z.infer<typeof SourceConfigSchema>;
export type DataSourceSourceConfig = z.infer<typeof DataSourceSourceConfigSchema>;

/** `db://<collection>`: rows go to a MongoDB collection CloudFlow manages. */
export const DB_TARGET_PATTERN = /^db:\/\/[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export const CollectionSinkConfigSchema = z.strictObject({
  target: z.string().regex(DB_TARGET_PATTERN, {
    message: "must look like 'db://<name>' (letters, digits, '-' and '_', at most 63 characters)",
  }),
});

export const FileSinkConfigSchema = z.strictObject({
  path: DataPathSchema,
  format: z.enum(FILE_FORMATS).optional(),
});

export const DataSourceSinkConfigSchema = z.strictObject({
  ...DataSourceTargetShape,
  format: z.enum(FILE_FORMATS).optional(),
});

export const SinkConfigSchema = z.union([
  CollectionSinkConfigSchema,
  FileSinkConfigSchema,
  DataSourceSinkConfigSchema,
]);
export type SinkConfig = z.infer<typeof SinkConfigSchema>;
export type DataSourceSinkConfig = z.infer<typeof DataSourceSinkConfigSchema>;

/** Whether a source or sink step reads or writes through a data source. */
export function namesDataSource<C extends SourceConfig | SinkConfig>(
  config: C,
): config is Extract<C, { datasource: string }> {
  return 'datasource' in config;
}
