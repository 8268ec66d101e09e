import { Logger } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { mongo } from 'mongoose';
import { isDuplicateKeyError } from '@cloudflow/persistence';

/** One claimed request slot: `<key>|<window>|<n>`, n zero-padded so ids sort by n. */
export interface SlotDocument {
  _id: string;
  /** When the window ends; the sweep deletes slots of finished windows. */
  expiresAt: Date;
}

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

export type SlotCollection = Pick<
  mongo.Collection<SlotDocument>,
  'insertMany' | 'findOne' | 'deleteMany' | 'createIndex'
>;

export interface SharedWindowStoreOptions {
  /** A store operation slower than this falls back to this process's own counters. */
  timeoutMs?: number;
  now?: () => number;
}

const SLOT_DIGITS = 10;
/** Most requests of one key one replica claims in a single insert. */
const MAX_BATCH = 256;

/** A request of this replica waiting for its slot. */
interface Waiter {
  window: number;
  endsAt: number;
  limit: number;
  /** Aborted once the request has been answered without the shared counters. */
  abandoned: AbortSignal;
  resolve: (slot: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Fixed-window rate-limit counters shared by every gateway replica through
 * MongoDB, built only on unique inserts (ADR 0008): request number n of a
 * window inserts the slot `<key>|<window>|<n>`. The insert either succeeds —
 * this request is the n-th, exactly, whichever replica served it — or hits a
 * duplicate, and the request tries the slot after the highest one taken.
 * FerretDB does not make `$inc` or conditional updates atomic; unique `_id`
 * inserts it does.
 *
 * A replica claims slots for one key one batch at a time: requests that
 * arrive while a claim is in flight wait, and the next round trip claims a
 * slot for each of them with one unordered `insertMany`, so one busy caller
 * costs a round trip per batch, not a retry storm. Once a window is
 * exhausted the replica remembers it and answers refusals without a round
 * trip until the window ends. If MongoDB fails or is slow,
 * the replica counts on its own (limits then hold per replica) and says so.
 */
export class SharedWindowStore implements ThrottlerStorage {
  private readonly logger = new Logger('rate-limit');
  /** Per key: the window this replica last counted in and the last slot it saw. */
  private readonly hints = new Map<string, { window: number; slot: number }>();
  /** Per key: this replica's requests waiting for a slot while a claim is in flight. */
  private readonly lanes = new Map<string, Waiter[]>();
  private readonly fallback = new ThrottlerStorageService();
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private lastFallbackWarning = 0;

  constructor(
    private readonly slots: SlotCollection,
    options: SharedWindowStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Seconds until `key` may be counted again, if this replica already knows
   * its current window is used up; costs no round trip. Undefined otherwise.
   */
  knownExhausted(key: string, ttlMs: number, limit: number): number | undefined {
    const now = this.now();
    const window = Math.floor(now / ttlMs);
    const hint = this.hints.get(key);
    if (hint?.window !== window || hint.slot <= limit) return undefined;
    return Math.max(1, Math.ceil(((window + 1) * ttlMs - now) / 1000));
  }

  async ensureIndexes(): Promise<void> {
    await this.slots.createIndex({ expiresAt: 1 });
  }

  /** Deletes the slots of windows that have ended. Any replica may run it at any time. */
  async sweep(): Promise<number> {
    const { deletedCount } = await this.slots.deleteMany({
      expiresAt: { $lt: new Date(this.now()) },
    });
    return deletedCount;
  }

  async increment(
    key: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    const window = Math.floor(now / ttlMs);
    const endsAt = (window + 1) * ttlMs;
    // A claim that times out is answered by the fallback: it must then stop
    // retrying, or it would still take a shared slot for an answered request.
    const abandon = new AbortController();
    try {
      const slot = await this.withTimeout(
        this.claim(key, window, endsAt, limit, abandon.signal),
        abandon,
      );
      return record(slot, limit, endsAt - now);
    } catch (error) {
      this.warnFallback(error);
      return this.fallback.increment(key, ttlMs, limit, blockDurationMs, throttlerName);
    }
  }

  /** The number of this request in its window; anything above `limit` is refused. */
  private claim(
    key: string,
    window: number,
    endsAt: number,
    limit: number,
    abandoned: AbortSignal,
  ): Promise<number> {
    const hint = this.hints.get(key);
    // A window already known to be used up costs no round trip.
    if (hint?.window === window && hint.slot > limit) return Promise.resolve(hint.slot);
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = { window, endsAt, limit, abandoned, resolve, reject };
      const lane = this.lanes.get(key);
      if (lane) {
        lane.push(waiter);
        return;
      }
      this.lanes.set(key, [waiter]);
      void this.drain(key);
    });
  }

  /** Claims slots for the requests waiting on `key`, one batch per round, until none wait. */
  private async drain(key: string): Promise<void> {
    for (;;) {
      const waiting = (this.lanes.get(key) ?? []).filter((w) => !w.abandoned.aborted);
      const first = waiting[0];
      if (!first) {
        this.lanes.delete(key);
        return;
      }
      const batch = waiting.filter((w) => w.window === first.window).slice(0, MAX_BATCH);
      this.lanes.set(
        key,
        waiting.filter((w) => !batch.includes(w)),
      );
      try {
        await this.claimBatch(key, first.window, first.endsAt, first.limit, batch);
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
  }

  /**
   * Gives each waiter of one window its slot: inserts the next slots, one per
   * waiter, in one unordered insert; the ones taken meanwhile (by the other
   * replicas) are retried past the highest slot taken. Over the limit, one
   * slot past it marks the window used up, and no further slots are written.
   */
  private async claimBatch(
    key: string,
    window: number,
    endsAt: number,
    limit: number,
    batch: Waiter[],
  ): Promise<void> {
    const prefix = `${key}|${window}|`;
    const hint = this.hints.get(key);
    let next = hint?.window === window ? hint.slot + 1 : 1;
    let pending = batch;
    for (;;) {
      // A request answered without the shared counters takes no slot.
      pending = pending.filter((w) => !w.abandoned.aborted);
      if (pending.length === 0) break;
      if (next > limit + 1) {
        const over = next - 1;
        for (const waiter of pending) waiter.resolve(over);
        break;
      }
      const last = Math.min(next + pending.length - 1, limit + 1);
      const { taken, conflicted } = await this.insertSlots(prefix, next, last, endsAt);
      taken.forEach((slot, i) => pending[i]?.resolve(slot));
      pending = pending.slice(taken.length);
      next = conflicted ? Math.max(last, await this.highestSlot(prefix)) + 1 : last + 1;
    }
    this.remember(key, window, next - 1);
  }

  /** Inserts slots `from..to`; answers those this insert took, in order. */
  private async insertSlots(
    prefix: string,
    from: number,
    to: number,
    endsAt: number,
  ): Promise<{ taken: number[]; conflicted: boolean }> {
    const wanted: number[] = [];
    for (let slot = from; slot <= to; slot += 1) wanted.push(slot);
    const expiresAt = new Date(endsAt);
    try {
      await this.slots.insertMany(
        wanted.map((slot) => ({
          _id: prefix + String(slot).padStart(SLOT_DIGITS, '0'),
          expiresAt,
        })),
        { ordered: false },
      );
      return { taken: wanted, conflicted: false };
    } catch (error) {
      const failed = duplicateIndexes(error);
      if (!failed) throw error;
      return { taken: wanted.filter((_, i) => !failed.has(i)), conflicted: true };
    }
  }

  private async highestSlot(prefix: string): Promise<number> {
    const top = await this.slots.findOne(
      { _id: { $gte: prefix, $lt: `${prefix}~` } },
      { sort: { _id: -1 }, projection: { _id: 1 } },
    );
    return top ? Number(top._id.slice(prefix.length)) : 0;
  }

  private remember(key: string, window: number, slot: number): void {
    if (this.hints.size > 100_000) this.hints.clear();
    this.hints.set(key, { window, slot });
  }

  private withTimeout<T>(work: Promise<T>, abandon: AbortController): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`rate-limit store did not answer within ${this.timeoutMs} ms`);
        abandon.abort(error);
        reject(error);
      }, this.timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private warnFallback(error: unknown): void {
    const now = this.now();
    if (now - this.lastFallbackWarning < 10_000) return;
    this.lastFallbackWarning = now;
    this.logger.warn(
      { err: error },
      'shared rate-limit counters unavailable; counting per replica until they are back',
    );
  }
}

function record(slot: number, limit: number, msLeft: number): ThrottlerStorageRecord {
  const secondsLeft = Math.max(1, Math.ceil(msLeft / 1000));
  return {
    totalHits: slot,
    timeToExpire: secondsLeft,
    isBlocked: slot > limit,
    timeToBlockExpire: slot > limit ? secondsLeft : 0,
  };
}

/**
 * The positions an unordered insert refused as duplicates, if that is all it
 * refused; undefined for any other failure.
 */
function duplicateIndexes(error: unknown): Set<number> | undefined {
  if (isDuplicateKeyError(error) && !(error as { writeErrors?: unknown }).writeErrors) {
    return new Set([0]);
  }
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  if (writeErrors === undefined) return undefined;
  const list = [writeErrors].flat() as { index?: number; code?: number }[];
  if (list.length === 0 || list.some((e) => e.code !== 11000 || typeof e.index !== 'number')) {
    return undefined;
  }
  return new Set(list.map((e) => e.index as number));
}
