import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const REQUEST_ID_HEADER = 'x-request-id';

type WithId = IncomingMessage & { id?: unknown };

/**
 * The id of an HTTP request: the caller's `X-Request-Id` when it is sane,
 * otherwise a new UUID. Stored on the raw request so Fastify, the logger and
 * the error filter all see the same value.
 */
export function requestIdOf(req: IncomingMessage): string {
  const raw = req as WithId;
  if (typeof raw.id === 'string') return raw.id;
  const header = req.headers[REQUEST_ID_HEADER];
  const candidate = Array.isArray(header) ? header[0] : header;
  const id = candidate && VALID_REQUEST_ID.test(candidate) ? candidate : randomUUID();
  raw.id = id;
  return id;
}
