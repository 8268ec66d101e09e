import { z } from 'zod';

/** A pipeline as the API returns it. */
export const PipelineSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  steps: z.array(
    z.object({
      type: z.enum(['source', 'transform', 'sink']),
      config: z.record(z.string(), z.unknown()),
    }),
  ),
  errorPolicy: z.object({
    mode: z.enum(['fail', 'skip']),
    maxRejected: z.number().int().min(0).optional(),
  }),
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

/**
 * The answer of `POST /api/v1/pipelines/validate`: the definition as it
 * would be stored (defaults filled in), nothing saved. An invalid one is
 * refused with 400/4001 exactly as creating it would be.
 */
export const PipelineValidationSchema = z.object({
  valid: z.literal(true),
  definition: PipelineSchema.pick({
    name: true,
    description: true,
    steps: true,
    errorPolicy: true,
  }),
});
export type PipelineValidation = z.infer<typeof PipelineValidationSchema>;

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
export const PipelinePageSchema = pageSchema(PipelineSchema);
export type PipelinePage = z.infer<typeof PipelinePageSchema>;
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
