import type { z } from 'zod';
import { AppError, ErrorCode, describeIssue } from '@cloudflow/contracts';

/** Parses query parameters, answering 400/4002 with the parameter named on failure. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const parsed = schema.safeParse(query ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues
    .map((issue) =>
      describeIssue(issue)
        .replace(/^field '([^']+)'/, "query parameter '$1'")
        .replace(/^has unknown field/, 'unknown query parameter'),
    )
    .join('; ');
  throw new AppError(ErrorCode.ValidationFailed, details);
}

const RESOURCE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** An id that cannot exist is simply not found; it never reaches a service. */
export function requireResourceId(kind: string, id: string): string {
  if (!RESOURCE_ID.test(id)) throw AppError.notFound(kind, id.slice(0, 100));
  return id;
}

/** Parses a JSON body, answering 400/4002 with every problem named. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError(ErrorCode.ValidationFailed, 'request body must be a JSON object');
  }
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new AppError(
    ErrorCode.ValidationFailed,
    parsed.error.issues.map((issue) => describeIssue(issue)).join('; '),
  );
}
