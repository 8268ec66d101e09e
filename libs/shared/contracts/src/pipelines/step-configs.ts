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

export const SourceConfigSchema = z.strictObject({
  path: DataPathSchema,
  format: z.enum(FILE_FORMATS).optional(),
  csv: CsvOptionsSchema.optional(),
});
export type SourceConfig = z.infer<typeof SourceConfigSchema>;

/** `db://<collection>`: rows go to a MongoDB collection CloudFlow manages. */
export const DB_TARGET_PATTERN = /^db:\/\/[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export const SinkConfigSchema = z.union([
  z.strictObject({
    target: z.string().regex(DB_TARGET_PATTERN, {
      message: "must look like 'db://<name>' (letters, digits, '-' and '_', at most 63 characters)",
    }),
  }),
  z.strictObject({
    path: DataPathSchema,
    format: z.enum(FILE_FORMATS).optional(),
  }),
]);
export type SinkConfig = z.infer<typeof SinkConfigSchema>;
