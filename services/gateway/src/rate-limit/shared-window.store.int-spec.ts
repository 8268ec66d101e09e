import mongoose, { type Connection, type mongo } from 'mongoose';
import { databaseOf } from '@cloudflow/persistence';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { SharedWindowStore, type SlotDocument } from './shared-window.store';

const TTL = 60_000;
/** The start of some window of a one-minute policy; the stores read this clock. */
const WINDOW = 29_000_000 * TTL;

/**
 * The shared rate-limit counters on a real MongoDB-wire server (FerretDB
 * here, which makes only unique `_id` inserts atomic): two stores stand for
 * two gateway replicas sharing one collection.
 */
describe('SharedWindowStore on a real MongoDB-wire server', () => {
  let connection: Connection;
  let slots: mongo.Collection<SlotDocument>;
  let now: number;
  let a: SharedWindowStore;
  let b: SharedWindowStore;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_rate_limit')))
      .asPromise();
    slots = databaseOf(connection).collection<SlotDocument>('rate_limit_slots');
    // Never fall back to per-replica counting here, even on a busy server:
    // these tests are about the shared count.
    const options = { now: () => now, timeoutMs: 45_000 };
    a = new SharedWindowStore(slots, options);
    b = new SharedWindowStore(slots, options);
    await a.ensureIndexes();
    await b.ensureIndexes();
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  beforeEach(async () => {
    now = WINDOW + 10_000;
    await slots.deleteMany({});
  });

  const hit = (store: SharedWindowStore, key: string, limit: number) =>
    store.increment(key, TTL, limit, TTL, 'default');

  it('allows exactly the limit when two replicas race, each slot claimed once', async () => {
    const limit = 50;
    const results = [];
    for (let burst = 0; burst < 3; burst++) {
      results.push(
        ...(await Promise.all(
          Array.from({ length: 40 }, (_, i) => hit(i % 2 === 0 ? a : b, 'burst', limit)),
        )),
      );
    }

    const allowed = results.filter((r) => !r.isBlocked).map((r) => r.totalHits);
    const refused = results.filter((r) => r.isBlocked).map((r) => r.totalHits);
    expect(allowed).toHaveLength(limit);
    expect(new Set(allowed).size).toBe(limit);
    for (const n of allowed) expect(n).toBeLessThanOrEqual(limit);
    expect(refused).toHaveLength(120 - limit);
    for (const n of refused) expect(n).toBeGreaterThan(limit);
    for (const r of results.filter((r) => r.isBlocked)) expect(r.timeToBlockExpire).toBe(50);
    // Slots 1..50 and the one marking the window used up; nothing else written.
    expect(await slots.countDocuments({})).toBe(limit + 1);
  });

  it('counts keys and windows independently', async () => {
    await hit(a, 'k1', 2);
    await hit(b, 'k1', 2);
    expect(await hit(a, 'k1', 2)).toMatchObject({ totalHits: 3, isBlocked: true });

    expect(await hit(b, 'k2', 2)).toMatchObject({ totalHits: 1, isBlocked: false });

    now = WINDOW + TTL + 1_000;
    expect(await hit(b, 'k1', 2)).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await hit(a, 'k1', 2)).toMatchObject({ totalHits: 2, isBlocked: false });
    expect(await hit(a, 'k1', 2)).toMatchObject({ totalHits: 3, isBlocked: true });
  });

  it('sweeps the slots of ended windows and keeps the current count', async () => {
    for (let i = 0; i < 3; i++) await hit(a, 'old', 10);
    await hit(b, 'current', 10);
    expect(await a.sweep()).toBe(0);

    now = WINDOW + TTL + 1_000;
    await hit(b, 'current', 10);

    expect(await b.sweep()).toBe(4);
    const left = await slots.find({}).toArray();
    expect(left.map((s) => s._id)).toEqual([expect.stringMatching(/^current\|29000001\|0*1$/)]);
    expect(await hit(a, 'current', 10)).toMatchObject({ totalHits: 2, isBlocked: false });
  });

  it('indexes the slots by expiry for the sweep', async () => {
    const indexes = await slots.indexes();
    expect(indexes.map((i) => i.key)).toContainEqual({ expiresAt: 1 });
  });
});
