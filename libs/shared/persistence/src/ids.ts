import { v7 as uuidv7 } from 'uuid';

/**
 * A new resource id: a prefix naming the kind, then a time-ordered UUIDv7, e.g.
 * `pl_0192f1c4-...`. Time order makes `_id` order creation order (pagination).
 */
export function newId(prefix: string): string {
  return `${prefix}_${uuidv7()}`;
}
