import { randomInt } from 'node:crypto';
import { Long, calculateObjectSize } from 'bson';
import { StoreError } from './errors';
import { BSON_WRITE_OPTIONS } from './journal';
import type { Doc } from './values';

/** First batches hold 101 documents unless the client asks otherwise, as MongoDB's do. */
export const DEFAULT_FIRST_BATCH = 101;
/** No batch grows past this many bytes of documents (at least one document always goes). */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60 * 1000;

interface OpenCursor {
  ns: string;
  docs: Doc[];
  position: number;
  lastUsed: number;
}

export interface Batch {
  id: Long;
  ns: string;
  docs: Doc[];
}

/**
 * Server-side cursors: the rest of a result after its first batch, handed out
 * by getMore. Shared by all connections (the driver may send a getMore on any
 * connection of its pool). Results are taken whole when the cursor opens;
 * stored documents are never changed in place, so the cursor is a snapshot.
 */
export class CursorRegistry {
  private readonly cursors = new Map<string, OpenCursor>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.dropIdle(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** The first batch of `docs`; the rest stays behind a cursor id (0 when nothing is left). */
  open(ns: string, docs: Doc[], batchSize: number, singleBatch = false): Batch {
    const first = takeBatch(docs, 0, batchSize);
    if (singleBatch || first.length === docs.length) {
      return { id: Long.ZERO, ns, docs: first };
    }
    const key = this.newId();
    this.cursors.set(key, { ns, docs, position: first.length, lastUsed: this.now() });
    return { id: Long.fromString(key), ns, docs: first };
  }

  /** The next batch: `batchSize` documents (all that are left when 0), within the byte cap. */
  getMore(id: unknown, ns: string, batchSize: number): Batch {
    const key = String(id);
    const cursor = this.cursors.get(key);
    if (!cursor) throw new StoreError('CursorNotFound', `cursor id ${key} not found`);
    if (cursor.ns !== ns) {
      throw new StoreError('BadValue', `cursor id ${key} belongs to ${cursor.ns}, not ${ns}`);
    }
    const batch = takeBatch(cursor.docs, cursor.position, batchSize > 0 ? batchSize : Infinity);
    cursor.position += batch.length;
    cursor.lastUsed = this.now();
    if (cursor.position >= cursor.docs.length) {
      this.cursors.delete(key);
      return { id: Long.ZERO, ns, docs: batch };
    }
    return { id: Long.fromString(key), ns, docs: batch };
  }

  kill(ids: readonly unknown[]): { killed: Long[]; notFound: Long[] } {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) {
      const key = String(id);
      (this.cursors.delete(key) ? killed : notFound).push(Long.fromString(key));
    }
    return { killed, notFound };
  }

  get size(): number {
    return this.cursors.size;
  }

  /** Drops cursors no one has read for 10 minutes, as MongoDB does. */
  dropIdle(): void {
    const cutoff = this.now() - IDLE_TIMEOUT_MS;
    for (const [key, cursor] of this.cursors) {
      if (cursor.lastUsed < cutoff) this.cursors.delete(key);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.cursors.clear();
  }

  private newId(): string {
    // Positive and below 2^48: a Long for the driver, exact as a JS number if one comes back.
    for (;;) {
      const key = String(randomInt(1, 2 ** 48));
      if (!this.cursors.has(key)) return key;
    }
  }
}

function takeBatch(docs: Doc[], from: number, count: number): Doc[] {
  const batch: Doc[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length && batch.length < count; i++) {
    const doc = docs[i] as Doc;
    bytes += calculateObjectSize(doc, BSON_WRITE_OPTIONS);
    if (bytes > MAX_BATCH_BYTES && batch.length > 0) break;
    batch.push(doc);
  }
  return batch;
}
