import { Logger } from '@nestjs/common';
import {
  SharedWindowStore,
  type SharedWindowStoreOptions,
  type SlotCollection,
  type SlotDocument,
} from './shared-window.store';

const TTL = 60_000;
const BLOCK = 60_000;
/** The start of some window: window number 1000 of a one-minute policy. */
const WINDOW = 1_000 * TTL;

/**
 * The four collection calls the store makes, on a Map: `_id` is unique (a
 * second insert fails with MongoDB's duplicate-key code 11000) and nothing
 * else is atomic. Filters it does not understand fail loudly.
 */
class FakeSlotCollection {
  readonly docs = new Map<string, SlotDocument>();
  readonly indexes: unknown[] = [];
  /** Every call the store made. */
  calls = 0;
  /** When set, every call fails with this error. */
  failure: Error | undefined;
  /** When true, no call ever answers. */
  hang = false;
  /** How many turns of the event loop a call waits before it takes effect. */
  turns: () => number = () => 0;
  /** How long a call waits before it takes effect. */
  delayMs = 0;
  private inFlight = 0;

  /** Unordered: every document is tried; duplicates fail alone, as MongoBulkWriteError reports them. */
  insertMany(docs: SlotDocument[], options: { ordered: boolean }) {
    return this.answer(() => {
      if (options.ordered !== false) throw new Error('the fake answers only ordered: false');
      const writeErrors: { index: number; code: number }[] = [];
      docs.forEach((doc, index) => {
        if (this.docs.has(doc._id)) writeErrors.push({ index, code: 11000 });
        else this.docs.set(doc._id, { ...doc });
      });
      if (writeErrors.length > 0) {
        throw Object.assign(new Error('E11000 duplicate key error'), { code: 11000, writeErrors });
      }
      return { acknowledged: true, insertedCount: docs.length };
    });
  }

  findOne(filter: { _id: { $gte: string; $lt: string } }, options: { sort: { _id: number } }) {
    return this.answer(() => {
      if (options.sort._id !== -1) throw new Error('the fake answers only sort { _id: -1 }');
      const { $gte, $lt } = filter._id;
      const ids = [...this.docs.keys()].filter((id) => id >= $gte && id < $lt).sort();
      const top = ids.at(-1);
      return top === undefined ? null : { _id: top };
    });
  }

  deleteMany(filter: { expiresAt: { $lt: Date } }) {
    return this.answer(() => {
      let deletedCount = 0;
      for (const [id, doc] of this.docs) {
        if (doc.expiresAt < filter.expiresAt.$lt) {
          this.docs.delete(id);
          deletedCount++;
        }
      }
      return { acknowledged: true, deletedCount };
    });
  }

  createIndex(spec: unknown) {
    return this.answer(() => {
      this.indexes.push(spec);
      return 'expiresAt_1';
    });
  }

  /** Resolves once no call is in flight, including any the store makes after one ends. */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private async answer<T>(work: () => T): Promise<T> {
    this.calls++;
    if (this.hang) return new Promise<never>(() => undefined);
    this.inFlight++;
    try {
      for (let i = this.turns(); i > 0; i--) await new Promise((r) => setImmediate(r));
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failure) throw this.failure;
      return work();
    } finally {
      this.inFlight--;
    }
  }
}

class Clock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
}

function storeOn(
  slots: FakeSlotCollection,
  clock: Clock,
  options: SharedWindowStoreOptions = {},
): SharedWindowStore {
  return new SharedWindowStore(slots as unknown as SlotCollection, { now: clock.now, ...options });
}

function hit(store: SharedWindowStore, key: string, limit: number) {
  return store.increment(key, TTL, limit, BLOCK, 'default');
}

/** A small seeded PRNG, so a failing interleaving can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SharedWindowStore', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  it('allows requests 1..limit and refuses the next until the window ends', async () => {
    const store = storeOn(new FakeSlotCollection(), new Clock(WINDOW + 12_345));

    const results = [];
    for (let i = 0; i < 5; i++) results.push(await hit(store, 'default/ws_a/user/u1', 3));

    // 47.655 s are left in the window: every answer says 48.
    expect(results).toEqual([
      { totalHits: 1, timeToExpire: 48, isBlocked: false, timeToBlockExpire: 0 },
      { totalHits: 2, timeToExpire: 48, isBlocked: false, timeToBlockExpire: 0 },
      { totalHits: 3, timeToExpire: 48, isBlocked: false, timeToBlockExpire: 0 },
      { totalHits: 4, timeToExpire: 48, isBlocked: true, timeToBlockExpire: 48 },
      { totalHits: 4, timeToExpire: 48, isBlocked: true, timeToBlockExpire: 48 },
    ]);
  });

  it.each([
    { msLeft: 1, seconds: 1 },
    { msLeft: 1_000, seconds: 1 },
    { msLeft: 1_001, seconds: 2 },
    { msLeft: TTL, seconds: 60 },
  ])('tells a refused caller to retry in $seconds s when $msLeft ms are left', async (c) => {
    const store = storeOn(new FakeSlotCollection(), new Clock(WINDOW + TTL - c.msLeft));

    await hit(store, 'k', 1);
    const refused = await hit(store, 'k', 1);

    expect(refused).toMatchObject({ isBlocked: true, timeToBlockExpire: c.seconds });
  });

  it('starts counting again at 1 when the next window begins', async () => {
    const clock = new Clock(WINDOW + 59_000);
    const store = storeOn(new FakeSlotCollection(), clock);
    for (let i = 0; i < 3; i++) await hit(store, 'k', 2);
    expect(await hit(store, 'k', 2)).toMatchObject({ isBlocked: true });

    clock.ms = WINDOW + TTL;

    expect(await hit(store, 'k', 2)).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(await hit(store, 'k', 2)).toMatchObject({ totalHits: 2, isBlocked: false });
  });

  it('counts each key on its own', async () => {
    const store = storeOn(new FakeSlotCollection(), new Clock(WINDOW));
    await hit(store, 'default/ws_a/user/u1', 1);
    expect(await hit(store, 'default/ws_a/user/u1', 1)).toMatchObject({ isBlocked: true });

    expect(await hit(store, 'default/ws_a/user/u2', 1)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });

  it('answers refusals in a used-up window without touching the collection', async () => {
    const slots = new FakeSlotCollection();
    const clock = new Clock(WINDOW);
    const a = storeOn(slots, clock);
    const b = storeOn(slots, clock);
    for (let i = 0; i < 4; i++) await hit(a, 'k', 3);

    let calls = slots.calls;
    for (let i = 0; i < 5; i++) expect(await hit(a, 'k', 3)).toMatchObject({ isBlocked: true });
    expect(slots.calls).toBe(calls);

    // The other replica learns it once, from the collection, then stops asking too.
    expect(await hit(b, 'k', 3)).toMatchObject({ totalHits: 4, isBlocked: true });
    calls = slots.calls;
    for (let i = 0; i < 5; i++) expect(await hit(b, 'k', 3)).toMatchObject({ isBlocked: true });
    expect(slots.calls).toBe(calls);
    // Slots 1..3 and the one marking the window used up; no more.
    expect(slots.docs.size).toBe(4);

    clock.ms = WINDOW + TTL;
    expect(await hit(a, 'k', 3)).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(slots.calls).toBeGreaterThan(calls);
  });

  it('numbers requests served in turn by two replicas as one sequence', async () => {
    const slots = new FakeSlotCollection();
    const clock = new Clock(WINDOW);
    const replicas = [storeOn(slots, clock), storeOn(slots, clock)];

    const results = [];
    for (let i = 0; i < 6; i++) results.push(await hit(replicas[i % 2]!, 'k', 4));

    expect(results.map((r) => r.totalHits)).toEqual([1, 2, 3, 4, 5, 5]);
    expect(results.map((r) => r.isBlocked)).toEqual([false, false, false, false, true, true]);
  });

  it.each(Array.from({ length: 20 }, (_, i) => i + 1))(
    'allows exactly the limit across two replicas racing each other (interleaving %i)',
    async (seed) => {
      const limit = 10;
      const slots = new FakeSlotCollection();
      const random = mulberry32(seed);
      slots.turns = () => Math.floor(random() * 4);
      const clock = new Clock(WINDOW + 30_000);
      const a = storeOn(slots, clock);
      const b = storeOn(slots, clock);

      const results = await Promise.all(
        Array.from({ length: 25 }, () => hit(random() < 0.5 ? a : b, 'k', limit)),
      );

      const allowed = results.filter((r) => !r.isBlocked).map((r) => r.totalHits);
      const refused = results.filter((r) => r.isBlocked).map((r) => r.totalHits);
      expect(allowed.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(refused).toHaveLength(15);
      for (const n of refused) expect(n).toBeGreaterThan(limit);
      expect(slots.docs.size).toBe(limit + 1);
    },
  );

  it('claims the slots of one key’s concurrent requests in a few batched round trips', async () => {
    const slots = new FakeSlotCollection();
    slots.turns = () => 1;
    const store = storeOn(slots, new Clock(WINDOW));

    const results = await Promise.all(Array.from({ length: 64 }, () => hit(store, 'busy', 1000)));

    const numbers = results.map((r) => r.totalHits).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    // The first request claims alone; all that arrived meanwhile share the next insert.
    expect(slots.calls).toBeLessThanOrEqual(3);
    expect(slots.docs.size).toBe(64);
  });

  it('counts per replica, and still limits, when the collection fails', async () => {
    const slots = new FakeSlotCollection();
    slots.failure = Object.assign(new Error('not primary'), { code: 10107 });
    const store = storeOn(slots, new Clock(WINDOW));

    const results = [];
    for (let i = 0; i < 3; i++) results.push(await hit(store, 'k', 2));

    expect(results.map((r) => [r.totalHits, r.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(results[2]!.timeToBlockExpire).toBeGreaterThan(0);
    expect(await hit(store, 'other', 2)).toMatchObject({ totalHits: 1, isBlocked: false });
    // Said once, not on every request.
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![1])).toMatch(/per replica/);

    slots.failure = undefined;
    expect(await hit(store, 'shared-again', 2)).toMatchObject({ totalHits: 1, isBlocked: false });
    expect([...slots.docs.keys()]).toEqual([expect.stringMatching(/^shared-again\|1000\|0*1$/)]);
  });

  it('counts per replica when the collection does not answer in time', async () => {
    const slots = new FakeSlotCollection();
    slots.hang = true;
    const store = storeOn(slots, new Clock(WINDOW), { timeoutMs: 20 });

    const first = await hit(store, 'k', 1);
    const second = await hit(store, 'k', 1);

    expect(first).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(second).toMatchObject({ totalHits: 2, isBlocked: true });
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('takes no shared slot for a request it already answered per replica', async () => {
    const slots = new FakeSlotCollection();
    const clock = new Clock(WINDOW);
    const other = storeOn(slots, clock);
    await hit(other, 'k', 5);
    slots.delayMs = 30;
    const slow = storeOn(slots, clock, { timeoutMs: 10 });

    // Slot 1 is taken and the insert answers too late: the fallback counts this request.
    expect(await hit(slow, 'k', 5)).toMatchObject({ totalHits: 1, isBlocked: false });
    await slots.idle();
    slots.delayMs = 0;

    expect(await hit(other, 'k', 5)).toMatchObject({ totalHits: 2, isBlocked: false });
    expect(slots.docs.size).toBe(2);
  });

  it('sweeps only the slots of windows that have ended', async () => {
    const slots = new FakeSlotCollection();
    const clock = new Clock(WINDOW + 1_000);
    const store = storeOn(slots, clock);
    for (let i = 0; i < 3; i++) await hit(store, 'a', 10);
    for (let i = 0; i < 2; i++) await hit(store, 'b', 10);

    expect(await store.sweep()).toBe(0);
    expect(slots.docs.size).toBe(5);

    clock.ms = WINDOW + TTL + 5_000;
    for (let i = 0; i < 2; i++) await hit(store, 'a', 10);

    expect(await store.sweep()).toBe(5);
    expect([...slots.docs.keys()].sort()).toEqual([
      expect.stringMatching(/^a\|1001\|0*1$/),
      expect.stringMatching(/^a\|1001\|0*2$/),
    ]);
    // The current window keeps its count.
    expect(await hit(store, 'a', 10)).toMatchObject({ totalHits: 3 });
  });

  it('creates the index the sweep uses', async () => {
    const slots = new FakeSlotCollection();
    await storeOn(slots, new Clock(WINDOW)).ensureIndexes();

    expect(slots.indexes).toEqual([{ expiresAt: 1 }]);
  });
});
