import { z } from 'zod';

/** A field name in a row. Dots and leading `$` are refused: rows are stored in MongoDB. */
export const FieldNameSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((name) => !name.startsWith('$') && !name.includes('.') && !name.includes('\0'), {
    message: "must not start with '$' or contain '.'",
  });

const FieldListSchema = z.array(FieldNameSchema).min(1).max(1000);
const ExpressionSchema = z.string().trim().min(1).max(4000);

export const CAST_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp'] as const;
function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

const ScalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * Config schema of every transform operation, keyed by its name. Adding an
 * operation here makes the registry accept it; the engine must implement it.
 */
export const TRANSFORM_OPERATIONS = {
  uppercase: z.strictObject({
    operation: z.literal('uppercase'),
    fields: FieldListSchema.optional(),
  }),
  lowercase: z.strictObject({
    operation: z.literal('lowercase'),
    fields: FieldListSchema.optional(),
  }),
  reverse: z.strictObject({ operation: z.literal('reverse'), fields: FieldListSchema.optional() }),
  trim: z.strictObject({ operation: z.literal('trim'), fields: FieldListSchema.optional() }),
  filter: z.strictObject({ operation: z.literal('filter'), expression: ExpressionSchema }),
  select: z.strictObject({ operation: z.literal('select'), fields: FieldListSchema }),
  drop: z.strictObject({ operation: z.literal('drop'), fields: FieldListSchema }),
  rename: z.strictObject({
    operation: z.literal('rename'),
    mapping: z.record(FieldNameSchema, FieldNameSchema).refine((m) => Object.keys(m).length > 0, {
      message: 'must map at least one field',
    }),
  }),
  cast: z.strictObject({
    operation: z.literal('cast'),
    types: z.record(FieldNameSchema, z.enum(CAST_TYPES)).refine((m) => Object.keys(m).length > 0, {
      message: 'must name at least one field',
    }),
  }),
  derive: z.strictObject({
    operation: z.literal('derive'),
    field: FieldNameSchema,
    expression: ExpressionSchema,
  }),
  fill: z.strictObject({
    operation: z.literal('fill'),
    values: z.record(FieldNameSchema, ScalarSchema).refine((m) => Object.keys(m).length > 0, {
      message: 'must name at least one field',
    }),
  }),
  mask: z.strictObject({
    operation: z.literal('mask'),
    fields: FieldListSchema,
    keepStart: z.number().int().min(0).max(64).optional(),
    keepEnd: z.number().int().min(0).max(64).optional(),
    char: z.string().length(1).optional(),
  }),
  hash: z.strictObject({
    operation: z.literal('hash'),
    fields: FieldListSchema,
    algorithm: z.enum(['sha256', 'sha512']).optional(),
    salt: z.string().max(200).optional(),
  }),
  validate: z.strictObject({
    operation: z.literal('validate'),
    rules: z
      .array(
        z.strictObject({
          field: FieldNameSchema,
          required: z.boolean().optional(),
          type: z.enum(CAST_TYPES).optional(),
          pattern: z
            .string()
            .min(1)
            .max(1000)
            .refine(isRegExp, { message: 'must be a valid regular expression' })
            .optional(),
          min: z.number().optional(),
          max: z.number().optional(),
          oneOf: z.array(ScalarSchema).min(1).max(1000).optional(),
        }),
      )
      .min(1)
      .max(1000),
  }),
} as const;

export type TransformOperation = keyof typeof TRANSFORM_OPERATIONS;
export const TRANSFORM_OPERATION_NAMES = Object.keys(TRANSFORM_OPERATIONS) as TransformOperation[];

export type TransformConfig = {
  [K in TransformOperation]: z.infer<(typeof TRANSFORM_OPERATIONS)[K]>;
}[TransformOperation];

export function isTransformOperation(value: unknown): value is TransformOperation {
  return (
    typeof value === 'string' && Object.prototype.hasOwnProperty.call(TRANSFORM_OPERATIONS, value)
  );
}
