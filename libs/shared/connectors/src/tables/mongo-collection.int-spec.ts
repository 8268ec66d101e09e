import { Long, MongoClient, ObjectId, type Db } from 'mongodb';
import { freePort, testEnv, uniqueName, withDatabase } from '@cloudflow/testing';
import { parseConnectionString, type ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { NetworkPolicy } from '../network-policy';
import type { KeyRange, ResolvedTableSpec, Row } from './model';
import { MongoCollectionSink } from './mongo-collection-sink';
import { inspectTable, planKeyRanges, readKeyRange } from './tables';

/** The test server listens on loopback, which a deployment must allow explicitly. */
const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });
const access = { policy, timeoutMs: 10_000 };

/** A database of this run's own on the MongoDB-wire server (FerretDB), dropped at the end. */
const database = uniqueName('cloudflow_tables_test');
let client: MongoClient;
let db: Db;
let config: ConnectionConfig;

beforeAll(async () => {
  const url = withDatabase(testEnv('MONGO_URL'), database);
  client = new MongoClient(url);
  await client.connect();
  db = client.db(database);
  const parsed = parseConnectionString('mongodb', url);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  config = parsed.config;
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Plans `spec` and reads every range (each bound passed through JSON, as the scheduler stores it). */
async function readAll(
  spec: ResolvedTableSpec,
  chunkRows: number,
  batchRows = 128,
): Promise<{ ranges: KeyRange[]; rows: Row[]; lines: number[] }> {
  const ranges: KeyRange[] = [];
  for await (const range of planKeyRanges(config, spec, { ...access, chunkRows })) {
    ranges.push(JSON.parse(JSON.stringify(range)) as KeyRange);
  }
  const rows: Row[] = [];
  const lines: number[] = [];
  for (const range of ranges) {
    for await (const batch of readKeyRange(config, spec, range, { ...access, batchRows })) {
      rows.push(...batch.rows);
      lines.push(...batch.lines);
    }
  }
  return { ranges, rows, lines };
}

describe('MongoDB collections as job input, against a real MongoDB-wire server', () => {
  it('splits 2,500 documents by _id into ranges of 300 and reads each once, numbered in _id order', async () => {
    const name = uniqueName('docs');
    const ids = oneToN(2_500).map(() => new ObjectId());
    await db.collection(name).insertMany(ids.map((_id, i) => ({ _id, n: i + 1 })));
    const shape = await inspectTable(config, { driver: 'mongodb', table: name }, access);
    expect(shape).toMatchObject({ splitKey: '_id', rowEstimate: 2_500 });
    expect(shape.columns).toEqual(['_id', 'n']);

    const { ranges, rows, lines } = await readAll(
      { driver: 'mongodb', table: name, splitKey: '_id' },
      300,
    );
    expect(ranges.map((r) => r.rows)).toEqual([...Array<number>(8).fill(300), 100]);
    expect(ranges[1]?.after).toEqual({ $oid: ids[299]?.toHexString() });
    expect(lines).toEqual(oneToN(2_500));
    expect(rows.map((r) => r['_id'])).toEqual(ids.map((id) => id.toHexString()).sort());
  });

  it('splits by a chosen field many documents share, ties in _id order, the same on every read', async () => {
    const name = uniqueName('shared');
    await db
      .collection<{ _id: number; grp: number }>(name)
      .insertMany(oneToN(600).map((i) => ({ _id: i, grp: i % 4 })));
    const spec = { driver: 'mongodb' as const, table: name, splitKey: 'grp' };
    const shape = await inspectTable(config, spec, access);
    expect(shape.splitKey).toBe('grp');

    const first = await readAll(spec, 70, 40);
    expect(first.ranges.reduce((sum, r) => sum + r.rows, 0)).toBe(600);
    expect(first.lines).toEqual(oneToN(600));
    const expected = oneToN(600).sort((a, b) => (a % 4) - (b % 4) || a - b);
    expect(first.rows.map((r) => r['_id'])).toEqual(expected);
    expect((await readAll(spec, 70, 64)).rows).toEqual(first.rows);
  });

  it('reads a collection whose _id values have mixed types as one task in _id order', async () => {
    const name = uniqueName('mixed');
    await db
      .collection<{ _id: string | number }>(name)
      .insertMany([{ _id: 'b' }, { _id: 2 }, { _id: 'a' }, { _id: 1 }]);
    const shape = await inspectTable(config, { driver: 'mongodb', table: name }, access);
    expect(shape.splitKey).toBeNull();

    const { ranges, rows, lines } = await readAll(
      { driver: 'mongodb', table: name, splitKey: null },
      2,
    );
    expect(ranges).toEqual([{ after: null, upTo: null, firstLine: 1, rows: 4 }]);
    expect(rows.map((r) => r['_id'])).toEqual([1, 2, 'a', 'b']);
    expect(lines).toEqual([1, 2, 3, 4]);
  });

  it('refuses a missing collection and a split key some documents lack, permanently', async () => {
    const missing = await inspectTable(
      config,
      { driver: 'mongodb', table: 'no_such_collection' },
      access,
    ).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConnectorError);
    expect(missing).toMatchObject({
      permanent: true,
      message: "the collection 'no_such_collection' does not exist",
    });

    const name = uniqueName('gaps');
    await db.collection(name).insertMany([{ k: 1 }, { other: 2 }]);
    const gaps = await inspectTable(
      config,
      { driver: 'mongodb', table: name, splitKey: 'k' },
      access,
    ).catch((e: unknown) => e);
    expect(gaps).toBeInstanceOf(ConnectorError);
    expect(gaps).toMatchObject({ permanent: true });
    expect((gaps as Error).message).toContain("the split key 'k' is missing");
  });

  it('refuses a split key that holds an array in some document, at submission and at planning', async () => {
    const name = uniqueName('arrays');
    // Sorted by k, [2, 3] sits in the middle: the first and last documents look fine.
    await db.collection<{ _id: number; k: number | number[] }>(name).insertMany([
      { _id: 1, k: 1 },
      { _id: 2, k: [2, 3] },
      { _id: 3, k: 5 },
    ]);
    const spec = { driver: 'mongodb' as const, table: name, splitKey: 'k' };
    const atSubmission = await inspectTable(config, spec, access).catch((e: unknown) => e);
    const atPlanning = await (async () => {
      for await (const _range of planKeyRanges(config, spec, { ...access, chunkRows: 1 })) {
        // planning
      }
    })().catch((e: unknown) => e);

    for (const error of [atSubmission, atPlanning]) {
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ permanent: true });
      expect((error as Error).message).toContain(`the split key 'k' holds an array`);
    }
  });

  // FerretDB 1.24 closes the connection on a Decimal128, so that type is covered by the unit tests.
  it('reports a closed port as worth retrying', async () => {
    const port = await freePort();
    const error = await inspectTable(
      { ...config, port },
      { driver: 'mongodb', table: 'anything' },
      { policy, timeoutMs: 1_000 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ permanent: false });
    expect((error as Error).message).toBe(
      `nothing is listening on 127.0.0.1:${port} (connection refused)`,
    );
  });

  it('gives MongoDB’s own types as plain JSON values', async () => {
    const name = uniqueName('typed');
    const id = new ObjectId();
    await db.collection(name).insertOne({
      _id: id,
      at: new Date('2024-03-01T10:00:00.123Z'),
      small: Long.fromNumber(42),
      big: Long.fromString('9007199254740993'),
      nested: { ref: id, list: [new Date(0)] },
    });
    const { rows } = await readAll({ driver: 'mongodb', table: name, splitKey: '_id' }, 10);
    expect(rows).toEqual([
      {
        _id: id.toHexString(),
        at: '2024-03-01T10:00:00.123Z',
        small: 42,
        big: '9007199254740993',
        nested: { ref: id.toHexString(), list: ['1970-01-01T00:00:00.000Z'] },
      },
    ]);
  });

  it('fails permanently, asking for a re-run, when documents appear inside a planned range', async () => {
    const name = uniqueName('changed');
    await db
      .collection<{ _id: number }>(name)
      .insertMany(oneToN(100).map((i) => ({ _id: i * 10 })));
    const spec = { driver: 'mongodb' as const, table: name, splitKey: '_id' };
    const ranges: KeyRange[] = [];
    for await (const range of planKeyRanges(config, spec, { ...access, chunkRows: 50 }))
      ranges.push(range);
    expect(ranges.map((r) => [r.firstLine, r.rows])).toEqual([
      [1, 50],
      [51, 50],
    ]);
    await db.collection<{ _id: number }>(name).insertOne({ _id: 15 });

    const error = await (async () => {
      for await (const _batch of readKeyRange(config, spec, ranges[0]!, {
        ...access,
        batchRows: 20,
      })) {
        // reading
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ permanent: true });
    expect((error as Error).message).toMatch(/changed while the job ran.*re-run the job/);
  });
});

describe('MongoCollectionSink against a real MongoDB-wire server', () => {
  it('writes each row once however often the task is attempted, keyed by job and row number', async () => {
    const name = uniqueName('sink');
    const options = { ...access, jobId: 'job_1', taskId: 'job_1-t0' };
    const rows: Row[] = [{ city: 'Oslo' }, { _id: 'own-id', city: 'Bergen' }, { city: 'Tromsø' }];
    for (let attempt = 0; attempt < 2; attempt++) {
      const sink = new MongoCollectionSink(config, { driver: 'mongodb', table: name }, options);
      await sink.write(rows, [7, 8, 9]);
      await sink.commit();
    }
    // A third attempt dies half-way: what it wrote is already there.
    const partial = new MongoCollectionSink(config, { driver: 'mongodb', table: name }, options);
    await partial.write(rows.slice(0, 1), [7]);
    await partial.abort();

    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    expect(docs).toEqual([
      { _id: 'job_1:000000000007', city: 'Oslo' },
      { _id: 'job_1:000000000009', city: 'Tromsø' },
      { _id: 'own-id', city: 'Bergen' },
    ]);
  });

  it('fails permanently, naming the index, when a row breaks another unique index of the collection', async () => {
    const name = uniqueName('unique');
    await db.collection(name).createIndex({ email: 1 }, { unique: true });
    await db
      .collection<{ _id: string; email: string }>(name)
      .insertOne({ _id: 'theirs', email: 'ada@example.com' });
    const sink = new MongoCollectionSink(
      config,
      { driver: 'mongodb', table: name },
      { ...access, jobId: 'job_u', taskId: 'job_u-t0' },
    );
    const error = await sink
      .write([{ email: 'grace@example.com' }, { email: 'ada@example.com' }], [1, 2])
      .catch((e: unknown) => e);
    await sink.abort();

    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({
      permanent: true,
      message: `row 2 has the same key as a document already in the collection '${name}', which the unique index 'email_1' on 'email' forbids: the row was not written`,
    });
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    expect(docs.map((d) => d['email'])).toEqual(['grace@example.com', 'ada@example.com']);
  });

  it('still skips the rows an earlier attempt wrote when the collection has other unique indexes', async () => {
    const name = uniqueName('unique_retried');
    await db.collection(name).createIndex({ email: 1 }, { unique: true });
    const options = { ...access, jobId: 'job_r', taskId: 'job_r-t0' };
    const rows: Row[] = [{ email: 'ada@example.com' }, { _id: 7, email: 'grace@example.com' }];
    for (let attempt = 0; attempt < 2; attempt++) {
      const sink = new MongoCollectionSink(config, { driver: 'mongodb', table: name }, options);
      await sink.write(rows, [1, 2]);
      await sink.commit();
    }
    expect(await db.collection(name).countDocuments()).toBe(2);
  });
});
