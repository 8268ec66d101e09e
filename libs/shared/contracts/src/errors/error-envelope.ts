import { z } from 'zod';

/**
 * The one error body of the public API:
 * `{"error": "...", "code": 4001, "details": "..."}`.
 * `correlationId` is present on 5xx answers and matches the server's logs;
 * `retry_after` (seconds) is present on 429 answers, as the published API shows it.
 */
export const ErrorEnvelopeSchema = z.object({
  error: z.string(),
  code: z.number().int(),
  details: z.string().optional(),
  correlationId: z.string().optional(),
  retry_after: z.number().int().nonnegative().optional(),
});

export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;
