import mongoose, { type Connection } from 'mongoose';
import { newId, type WorkspaceScope } from '@cloudflow/persistence';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import {
  REJECTED_ROWS_COLLECTION,
  RESULT_ROWS_COLLECTION,
  RowStore,
  rowId,
  sinkCollectionName,
  type RowDestination,
} from './row-store';

type Row = Record<string, unknown>;

const RESULTS: RowDestination = { kind: 'result-store' };
const REJECTED: RowDestination = { kind: 'rejected' };

/**
 * The row store on a real MongoDB-wire server: result rows, rejected rows and
 * `db://` collections, written idempotently (a retried task writes the same
 * `_id`s again) and read back in input order, a page at a time.
 */
describe('RowStore on a real MongoDB-wire server', () => {
  let connection: Connection;
  let store: RowStore;
  let ws: WorkspaceScope;
  let other: WorkspaceScope;
  let jobId: string;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_rows')))
      .asPromise();
    store = new RowStore(connection);
  });

  beforeEach(() => {
    ws = { workspaceId: uniqueName('ws_rows') };
    other = { workspaceId: uniqueName('ws_other') };
    jobId = newId('job');
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  /** Every page of a job's rows, `limit` at a time. */
  async function readAll(
    scope: WorkspaceScope,
    job: string,
    destination: RowDestination,
    limit: number,
  ): Promise<{ items: Row[]; pages: number[] }> {
    const items: Row[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.page(scope, job, destination, { limit, cursor });
      items.push(...page.items);
      pages.push(page.items.length);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return { items, pages };
  }

  const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  const rowsFor = (ls: number[]) => ls.map((line) => ({ line, name: `row ${line}` }));

  /** Every document of a collection, whatever the row store's filters. */
  const rawCount = (collection: string, filter: Row = {}) =>
    connection.db!.collection(collection).countDocuments(filter);

  describe('the result store', () => {
    it('stores a retried task’s rows once: the same batch written twice changes nothing', async () => {
      const ls = lines(2, 5);
      const docs = store.resultRowDocs(ws, jobId, rowsFor(ls), ls);
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, docs);
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, docs);

      const { items } = await readAll(ws, jobId, RESULTS, 100);
      expect(items.map((d) => d['row'])).toEqual(rowsFor(ls));
      expect(items.map((d) => d['_id'])).toEqual(ls.map((l) => rowId(jobId, l)));
      expect(items.every((d) => d['jobId'] === jobId && d['workspaceId'] === ws.workspaceId)).toBe(
        true,
      );
      expect(await rawCount(RESULT_ROWS_COLLECTION, { jobId })).toBe(5);
    });

    it('a batch that is partly duplicates stores the rest, wherever the duplicates are', async () => {
      const ls = lines(2, 10);
      const docs = store.resultRowDocs(ws, jobId, rowsFor(ls), ls);
      // A first attempt wrote rows 0, 1, 4 and 9 of the batch before it died.
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, [
        docs[0]!,
        docs[1]!,
        docs[4]!,
        docs[9]!,
      ]);
      // The retry writes the whole batch: duplicates first, in the middle and last.
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, docs);

      const { items } = await readAll(ws, jobId, RESULTS, 3);
      expect(items.map((d) => d['row'])).toEqual(rowsFor(ls));
      expect(await rawCount(RESULT_ROWS_COLLECTION, { jobId })).toBe(10);
    });

    it('keeps the first copy of a row: a retry never overwrites what was stored', async () => {
      const [first] = store.resultRowDocs(ws, jobId, [{ v: 'first' }], [2]);
      const [again] = store.resultRowDocs(ws, jobId, [{ v: 'again' }], [2]);
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, [first!]);
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, [again!]);
      const { items } = await readAll(ws, jobId, RESULTS, 10);
      expect(items.map((d) => d['row'])).toEqual([{ v: 'first' }]);
    });

    it('two replicas writing the same task at once leave one copy of each row', async () => {
      const ls = lines(2, 40);
      const docs = store.resultRowDocs(ws, jobId, rowsFor(ls), ls);
      await Promise.all([
        store.insertIdempotently(RESULT_ROWS_COLLECTION, docs),
        store.insertIdempotently(RESULT_ROWS_COLLECTION, [...docs].reverse()),
        store.insertIdempotently(RESULT_ROWS_COLLECTION, docs.slice(10, 30)),
      ]);
      const { items } = await readAll(ws, jobId, RESULTS, 7);
      expect(items.map((d) => d['row'])).toEqual(rowsFor(ls));
      expect(await rawCount(RESULT_ROWS_COLLECTION, { jobId })).toBe(40);
    });

    it('an empty batch is a no-op', async () => {
      await store.insertIdempotently(RESULT_ROWS_COLLECTION, []);
      expect((await store.page(ws, jobId, RESULTS, { limit: 10 })).items).toEqual([]);
    });

    it('reads rows in input-line order, not write order, across lines of different widths', async () => {
      // Tasks commit out of order; line numbers cross digit boundaries.
      const batches = [
        [1000, 1001],
        [9, 10, 11],
        [2, 3],
        [99, 100, 101],
      ];
      for (const ls of batches.reverse()) {
        await store.insertIdempotently(
          RESULT_ROWS_COLLECTION,
          store.resultRowDocs(ws, jobId, rowsFor(ls), ls),
        );
      }
      const { items, pages } = await readAll(ws, jobId, RESULTS, 4);
      expect(items.map((d) => (d['row'] as { line: number }).line)).toEqual([
        2, 3, 9, 10, 11, 99, 100, 101, 1000, 1001,
      ]);
      expect(pages).toEqual([4, 4, 2]);
    });

    it('has no next page when the last page is exactly full', async () => {
      const ls = lines(2, 4);
      await store.insertIdempotently(
        RESULT_ROWS_COLLECTION,
        store.resultRowDocs(ws, jobId, rowsFor(ls), ls),
      );
      const first = await store.page(ws, jobId, RESULTS, { limit: 2 });
      const second = await store.page(ws, jobId, RESULTS, { limit: 2, cursor: first.nextCursor! });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
      expect((await store.page(ws, jobId, RESULTS, { limit: 4 })).nextCursor).toBeNull();
    });

    it('keeps jobs apart, including a job whose id is a prefix of another’s', async () => {
      const short = 'job_abc';
      const long = 'job_abcd';
      for (const [id, ls] of [
        [short, [2, 3]],
        [long, [2, 4]],
      ] as const) {
        await store.insertIdempotently(
          RESULT_ROWS_COLLECTION,
          store.resultRowDocs(ws, id, rowsFor([...ls]), [...ls]),
        );
      }
      const ofShort = await readAll(ws, short, RESULTS, 10);
      expect(ofShort.items.map((d) => d['_id'])).toEqual([rowId(short, 2), rowId(short, 3)]);
      const ofLong = await readAll(ws, long, RESULTS, 1);
      expect(ofLong.items.map((d) => d['_id'])).toEqual([rowId(long, 2), rowId(long, 4)]);
    });

    it('refuses a cursor of another job or one it did not hand out', async () => {
      const ls = lines(2, 3);
      await store.insertIdempotently(
        RESULT_ROWS_COLLECTION,
        store.resultRowDocs(ws, jobId, rowsFor(ls), ls),
      );
      const otherJob = newId('job');
      await store.insertIdempotently(
        RESULT_ROWS_COLLECTION,
        store.resultRowDocs(ws, otherJob, rowsFor(ls), ls),
      );
      const first = await store.page(ws, otherJob, RESULTS, { limit: 1 });
      await expect(
        store.page(ws, jobId, RESULTS, { limit: 1, cursor: first.nextCursor! }),
      ).rejects.toThrow('invalid page cursor');
      await expect(
        store.page(ws, jobId, RESULTS, { limit: 1, cursor: 'garbage!' }),
      ).rejects.toThrow('invalid page cursor');
    });

    it('hides a job’s rows from every other workspace', async () => {
      const ls = lines(2, 3);
      await store.insertIdempotently(
        RESULT_ROWS_COLLECTION,
        store.resultRowDocs(ws, jobId, rowsFor(ls), ls),
      );
      expect((await store.page(other, jobId, RESULTS, { limit: 10 })).items).toEqual([]);
      // Nor does a cursor of the owner's listing open them to another workspace.
      const first = await store.page(ws, jobId, RESULTS, { limit: 1 });
      const stolen = await store.page(other, jobId, RESULTS, {
        limit: 10,
        cursor: first.nextCursor!,
      });
      expect(stolen.items).toEqual([]);
      expect((await readAll(ws, jobId, RESULTS, 10)).items).toHaveLength(3);
    });
  });

  describe('rejected rows', () => {
    it('stores each rejection once with its line, reason and row, read back in line order', async () => {
      const rejections = [
        { line: 12, reason: 'age: not a number', row: { name: 'Eve', age: 'x' } },
        { line: 3, reason: 'malformed CSV record' },
        { line: 7, reason: 'validate: email', row: { email: '' } },
      ];
      const docs = store.rejectedDocs(ws, jobId, rejections);
      await store.insertIdempotently(REJECTED_ROWS_COLLECTION, docs);
      await store.insertIdempotently(REJECTED_ROWS_COLLECTION, docs.slice(1));

      const { items, pages } = await readAll(ws, jobId, REJECTED, 2);
      expect(pages).toEqual([2, 1]);
      expect(items.map(({ line, reason, row }) => ({ line, reason, row }))).toEqual([
        { line: 3, reason: 'malformed CSV record', row: undefined },
        { line: 7, reason: 'validate: email', row: { email: '' } },
        { line: 12, reason: 'age: not a number', row: { name: 'Eve', age: 'x' } },
      ]);
      // A rejection without the row has no `row` field at all.
      expect(items[0]).not.toHaveProperty('row');
      expect(await rawCount(REJECTED_ROWS_COLLECTION, { jobId })).toBe(3);
    });

    it('keeps rejected rows apart from result rows of the same lines', async () => {
      await store.insertIdempotently(
        RESULT_ROWS_COLLECTION,
        store.resultRowDocs(ws, jobId, [{ ok: true }], [2]),
      );
      await store.insertIdempotently(
        REJECTED_ROWS_COLLECTION,
        store.rejectedDocs(ws, jobId, [{ line: 2, reason: 'bad' }]),
      );
      expect((await readAll(ws, jobId, RESULTS, 10)).items.map((d) => d['row'])).toEqual([
        { ok: true },
      ]);
      expect((await readAll(ws, jobId, REJECTED, 10)).items.map((d) => d['reason'])).toEqual([
        'bad',
      ]);
    });

    it('hides a job’s rejected rows from every other workspace', async () => {
      await store.insertIdempotently(
        REJECTED_ROWS_COLLECTION,
        store.rejectedDocs(ws, jobId, [{ line: 4, reason: 'bad' }]),
      );
      expect((await store.page(other, jobId, REJECTED, { limit: 10 })).items).toEqual([]);
    });
  });

  describe('db:// collections', () => {
    it('writes rows as documents of the workspace’s own collection, tagged with the job', async () => {
      const target = 'db://customers';
      const collection = store.collectionOf(ws, { kind: 'collection', target });
      expect(collection).toBe(sinkCollectionName(ws.workspaceId, target));
      expect(collection).toBe(`sink.${ws.workspaceId}.customers`);

      const ls = [2, 3, 4];
      const docs = store.collectionDocs(
        jobId,
        [
          { name: 'Ada', n: 1 },
          { name: 'Bob', n: 2 },
          { name: 'Cy', n: 3 },
        ],
        ls,
      );
      await store.insertIdempotently(collection, docs);
      await store.insertIdempotently(collection, docs.slice(1));

      const raw = await connection
        .db!.collection(collection)
        .find({}, { sort: { _id: 1 } })
        .toArray();
      expect(raw).toEqual([
        { _id: rowId(jobId, 2), name: 'Ada', n: 1, _job: jobId },
        { _id: rowId(jobId, 3), name: 'Bob', n: 2, _job: jobId },
        { _id: rowId(jobId, 4), name: 'Cy', n: 3, _job: jobId },
      ]);
      const { items } = await readAll(ws, jobId, { kind: 'collection', target }, 2);
      expect(items.map((d) => d['name'])).toEqual(['Ada', 'Bob', 'Cy']);
    });

    it('two workspaces writing db:// collections of one name never see each other’s rows', async () => {
      const target = 'db://shared-name';
      const mine = store.collectionOf(ws, { kind: 'collection', target });
      const theirs = store.collectionOf(other, { kind: 'collection', target });
      expect(mine).not.toBe(theirs);
      // Even the same job id and lines (ids are per collection).
      await store.insertIdempotently(mine, store.collectionDocs(jobId, [{ who: 'me' }], [2]));
      await store.insertIdempotently(theirs, store.collectionDocs(jobId, [{ who: 'them' }], [2]));

      const destination: RowDestination = { kind: 'collection', target };
      expect((await readAll(ws, jobId, destination, 10)).items.map((d) => d['who'])).toEqual([
        'me',
      ]);
      expect((await readAll(other, jobId, destination, 10)).items.map((d) => d['who'])).toEqual([
        'them',
      ]);
    });

    it('keeps several jobs writing one collection apart, each read back in its own order', async () => {
      const target = 'db://events';
      const collection = store.collectionOf(ws, { kind: 'collection', target });
      const second = newId('job');
      await store.insertIdempotently(
        collection,
        store.collectionDocs(second, [{ e: 'b2' }, { e: 'b1' }], [3, 2]),
      );
      await store.insertIdempotently(
        collection,
        store.collectionDocs(jobId, [{ e: 'a3' }, { e: 'a2' }], [3, 2]),
      );
      const destination: RowDestination = { kind: 'collection', target };
      expect((await readAll(ws, jobId, destination, 1)).items.map((d) => d['e'])).toEqual([
        'a2',
        'a3',
      ]);
      expect((await readAll(ws, second, destination, 1)).items.map((d) => d['e'])).toEqual([
        'b1',
        'b2',
      ]);
      expect(await rawCount(collection)).toBe(4);
    });
  });

  it('still reports a write that failed for a reason other than a duplicate, storing the rest', async () => {
    const ls = [2, 3];
    const [two, three] = store.resultRowDocs(ws, jobId, rowsFor(ls), ls);
    await store.insertIdempotently(RESULT_ROWS_COLLECTION, [two!]);
    // A duplicate and a document MongoDB refuses (an array `_id`) in one batch.
    const invalid = { _id: [jobId, 'x'], workspaceId: ws.workspaceId, jobId };
    await expect(
      store.insertIdempotently(RESULT_ROWS_COLLECTION, [two!, invalid, three!]),
    ).rejects.toThrow();
    const { items } = await readAll(ws, jobId, RESULTS, 10);
    expect(items.map((d) => d['row'])).toEqual(rowsFor(ls));
  });
});
