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
  'insertOne' | 'findOne' | 'deleteMany' | 'createIndex'
>;

export interface SharedWindowStoreOptions {
  /** A store operation slower than this falls back to this process's own counters. */
  timeoutMs?: number;
  now?: () => number;
}

const SLOT_DIGITS = 10;

/**
 * Fixed-window rate-limit counters shared by every gateway replica through
 * MongoDB, built only on unique inserts (ADR 0008): request number n of a
 * window inserts the slot `<key>|<window>|<n>`. The insert either succeeds —
 * this request is the n-th, exactly, whichever replica served it — or hits a
 * duplicate, and the request tries the slot after the highest one taken.
 * FerretDB does not make `$inc` or conditional updates atomic; unique `_id`
 * inserts it does.
 *
 * Once a window is exhausted the replica remembers it and answers refusals
 * without a round trip until the window ends. If MongoDB fails or is slow,
 * the replica counts on its own (limits then hold per replica) and says so.
 */
export class SharedWindowStore implements ThrottlerStorage {
  private readonly logger = new Logger('rate-limit');
  /** Per key: the window this replica last counted in and the last slot it saw. */
  private readonly hints = new Map<string, { window: number; slot: number }>();
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
  private async claim(
    key: string,
    window: number,
    endsAt: number,
    limit: number,
    abandoned: AbortSignal,
  ): Promise<number> {
    const hint = this.hints.get(key);
    // A window already known to be used up costs no round trip.
    if (hint?.window === window && hint.slot > limit) return hint.slot;
    const prefix = `${key}|${window}|`;
    let slot = hint?.window === window ? hint.slot + 1 : 1;
    for (;;) {
      abandoned.throwIfAborted();
      try {
        await this.slots.insertOne({
          _id: prefix + String(slot).padStart(SLOT_DIGITS, '0'),
          expiresAt: new Date(endsAt),
        });
        this.remember(key, window, slot);
        return slot;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      // Another request (here or on another replica) holds that slot: go past
      // the highest taken. Over the limit, one slot past it marks the window
      // used up, and no further slots are written.
      abandoned.throwIfAborted();
      const highest = await this.highestSlot(prefix);
      if (highest > limit) {
        this.remember(key, window, highest);
        return highest;
      }
      slot = Math.max(slot, highest) + 1;
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
