import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Long } from 'bson';
import { CommandRunner } from './commands';
import { CursorRegistry } from './cursors';
import { StoreEngine } from './engine';
import type { Doc } from './values';

describe('CommandRunner', () => {
  let dir: string;
  let engine: StoreEngine;
  let cursors: CursorRegistry;
  let runner: CommandRunner;
  let clock: number;
  const connection = { connectionId: 7, remote: '127.0.0.1:5555' };

  const run = (body: Doc): Doc => runner.run({ ...body, $db: body['$db'] ?? 'app' }, connection);
  const batchIds = (reply: Doc, field: 'firstBatch' | 'nextBatch'): unknown[] =>
    ((reply['cursor'] as Doc)[field] as Doc[]).map((doc) => doc['_id']);
  const cursorId = (reply: Doc): Long => (reply['cursor'] as Doc)['id'] as Long;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-commands-'));
    engine = StoreEngine.open(dir);
    clock = 1_000_000;
    cursors = new CursorRegistry(() => clock);
    runner = new CommandRunner(engine, cursors, {
      current: 1,
      totalCreated: 1,
      startedAt: Date.now(),
    });
  });

  afterEach(async () => {
    cursors.close();
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers hello as a writable standalone without replica-set fields', () => {
    const hello = run({ hello: 1, $db: 'admin' });
    expect(hello).toMatchObject({
      isWritablePrimary: true,
      helloOk: true,
      maxBsonObjectSize: 16777216,
      maxMessageSizeBytes: 48000000,
      maxWriteBatchSize: 100000,
      logicalSessionTimeoutMinutes: 30,
      connectionId: 7,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    });
    expect(hello['localTime']).toBeInstanceOf(Date);
    for (const field of ['setName', 'hosts', 'msg', 'topologyVersion'])
      expect(hello).not.toHaveProperty(field);
    expect(run({ isMaster: 1, $db: 'admin' })).toMatchObject({ ismaster: true });
    expect(run({ buildInfo: 1 })).toMatchObject({
      version: '7.0.0-cloudflow-embedded',
      versionArray: [7, 0, 0, 0],
    });
    expect(run({ whatsmyuri: 1 })).toEqual({ you: '127.0.0.1:5555', ok: 1 });
  });

  it('answers unknown commands, transactions and bad arguments with errors', () => {
    expect(run({ frobnicate: 1 })).toEqual({
      ok: 0,
      errmsg: "no such command: 'frobnicate'",
      code: 59,
      codeName: 'CommandNotFound',
    });
    expect(
      run({
        insert: 'c',
        documents: [{}],
        startTransaction: true,
        autocommit: false,
        txnNumber: 1,
      }),
    ).toMatchObject({
      ok: 0,
      code: 20,
      errmsg: expect.stringContaining('Transactions are not supported'),
    });
    expect(run({ commitTransaction: 1, $db: 'admin' })).toMatchObject({ ok: 0, code: 20 });
    expect(run({ insert: 'c', documents: [{}], txnNumber: 3, lsid: { id: 1 } })).toMatchObject({
      ok: 1,
      n: 1,
    });
    expect(runner.run({ ping: 1 }, connection)).toMatchObject({ ok: 0, code: 2 });
    expect(run({ find: 'c', filter: 'nope' })).toMatchObject({ ok: 0, code: 14 });
    expect(run({ find: 'c', filter: { $bogus: 1 } })).toMatchObject({ ok: 0, code: 2 });
    expect(run({ find: 'c', collation: { locale: 'fr' } })).toMatchObject({ ok: 0, code: 115 });
    expect(run({ aggregate: 'c', pipeline: [] })).toMatchObject({ ok: 0, code: 9 });
    expect(run({ aggregate: 'c', pipeline: [{ $out: 'x' }], cursor: {} })).toMatchObject({
      ok: 0,
      code: 115,
    });
  });

  it('shapes write replies as mongod does', () => {
    expect(
      run({ insert: 'c', documents: [{ _id: 1 }, { _id: 1 }, { _id: 2 }], ordered: false }),
    ).toEqual({
      n: 2,
      writeErrors: [
        expect.objectContaining({
          index: 1,
          code: 11000,
          keyPattern: { _id: 1 },
          keyValue: { _id: 1 },
        }),
      ],
      ok: 1,
    });
    expect(
      run({
        update: 'c',
        updates: [
          { q: { _id: 1 }, u: { $set: { a: 1 } } },
          { q: { _id: 3 }, u: { $set: { a: 1 } }, upsert: true },
        ],
      }),
    ).toEqual({ n: 2, nModified: 1, upserted: [{ index: 1, _id: 3 }], ok: 1 });
    expect(run({ delete: 'c', deletes: [{ q: { a: 1 }, limit: 0 }] })).toEqual({ n: 2, ok: 1 });
    expect(
      run({ findAndModify: 'c', query: { _id: 2 }, update: { $inc: { v: 1 } }, new: true }),
    ).toEqual({
      lastErrorObject: { n: 1, updatedExisting: true },
      value: { _id: 2, v: 1 },
      ok: 1,
    });
    expect(run({ count: 'c' })).toEqual({ n: 1, ok: 1 });
    expect(run({ drop: 'nope' })).toMatchObject({ ok: 0, code: 26, codeName: 'NamespaceNotFound' });
  });

  it('returns 101 documents first, the rest through getMore, and closes the cursor at the end', () => {
    engine.insert(
      'app',
      'c',
      Array.from({ length: 250 }, (_, i) => ({ _id: i })),
    );
    const first = run({ find: 'c' });
    expect(batchIds(first, 'firstBatch')).toHaveLength(101);
    expect(cursorId(first)).toBeInstanceOf(Long);
    expect((first['cursor'] as Doc)['ns']).toBe('app.c');
    const more = run({ getMore: cursorId(first), collection: 'c', batchSize: 100 });
    expect(batchIds(more, 'nextBatch')).toEqual(Array.from({ length: 100 }, (_, i) => 101 + i));
    // A cursor id that came back as a plain number (the driver promotes small Longs) works too.
    const rest = run({ getMore: cursorId(first).toNumber(), collection: 'c' });
    expect(batchIds(rest, 'nextBatch')).toHaveLength(49);
    expect(cursorId(rest).isZero()).toBe(true);
    expect(run({ getMore: cursorId(first), collection: 'c' })).toMatchObject({ ok: 0, code: 43 });

    const single = run({ find: 'c', batchSize: 10, singleBatch: true });
    expect(batchIds(single, 'firstBatch')).toHaveLength(10);
    expect(cursorId(single).isZero()).toBe(true);
    const limited = run({ find: 'c', limit: 5 });
    expect(batchIds(limited, 'firstBatch')).toEqual([0, 1, 2, 3, 4]);
    expect(cursorId(limited).isZero()).toBe(true);
    const empty = run({ find: 'c', batchSize: 0 });
    expect(batchIds(empty, 'firstBatch')).toEqual([]);
    expect(cursorId(empty).isZero()).toBe(false);
  });

  it('caps a batch at about 8 MB, always sending at least one document', () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    engine.insert(
      'app',
      'big',
      Array.from({ length: 5 }, (_, i) => ({ _id: i, big })),
    );
    const first = run({ find: 'big' });
    expect(batchIds(first, 'firstBatch')).toEqual([0, 1]);
    const next = run({ getMore: cursorId(first), collection: 'big' });
    expect(batchIds(next, 'nextBatch')).toEqual([2, 3]);
    const last = run({ getMore: cursorId(next), collection: 'big' });
    expect(batchIds(last, 'nextBatch')).toEqual([4]);
  });

  it('kills cursors on request and drops those idle for 10 minutes', () => {
    engine.insert(
      'app',
      'c',
      Array.from({ length: 300 }, (_, i) => ({ _id: i })),
    );
    const a = cursorId(run({ find: 'c' }));
    const b = cursorId(run({ aggregate: 'c', pipeline: [{ $sort: { _id: -1 } }], cursor: {} }));
    expect(run({ killCursors: 'c', cursors: [a, Long.fromNumber(12345)] })).toMatchObject({
      cursorsKilled: [a],
      cursorsNotFound: [Long.fromNumber(12345)],
      ok: 1,
    });
    clock += 9 * 60 * 1000;
    cursors.dropIdle();
    expect(batchIds(run({ getMore: b, collection: 'c', batchSize: 1 }), 'nextBatch')).toEqual([
      198,
    ]);
    clock += 10 * 60 * 1000 + 1;
    cursors.dropIdle();
    expect(run({ getMore: b, collection: 'c' })).toMatchObject({ ok: 0, code: 43 });
  });

  it('lists collections and indexes through cursors and runs the catalogue commands', () => {
    expect(run({ create: 'explicit' })).toEqual({ ok: 1 });
    expect(
      run({ createIndexes: 'c', indexes: [{ key: { a: 1 }, name: 'a_1', unique: true }] }),
    ).toEqual({
      createdCollectionAutomatically: true,
      numIndexesBefore: 1,
      numIndexesAfter: 2,
      ok: 1,
    });
    const collections = run({ listCollections: 1, nameOnly: true });
    expect((collections['cursor'] as Doc)['ns']).toBe('app.$cmd.listCollections');
    expect(((collections['cursor'] as Doc)['firstBatch'] as Doc[]).map((c) => c['name'])).toEqual([
      'explicit',
      'c',
    ]);
    const indexes = run({ listIndexes: 'c' });
    expect(((indexes['cursor'] as Doc)['firstBatch'] as Doc[]).map((i) => i['name'])).toEqual([
      '_id_',
      'a_1',
    ]);
    expect(run({ dropIndexes: 'c', index: 'a_1' })).toEqual({ nIndexesWas: 2, ok: 1 });
    expect(run({ distinct: 'c', key: 'a' })).toEqual({ values: [], ok: 1 });
    expect(run({ listDatabases: 1, nameOnly: true, $db: 'admin' })).toEqual({
      databases: [{ name: 'app' }],
      ok: 1,
    });
    expect(run({ dbStats: 1 })).toMatchObject({ db: 'app', collections: 2, ok: 1 });
    expect(run({ collStats: 'c' })).toMatchObject({ ns: 'app.c', count: 0, nindexes: 1, ok: 1 });
    expect(run({ serverStatus: 1, $db: 'admin' })).toMatchObject({
      connections: { current: 1 },
      ok: 1,
    });
    expect(run({ dropDatabase: 1 })).toEqual({ dropped: 'app', ok: 1 });
    expect(run({ listCollections: 1 })).toMatchObject({ cursor: { firstBatch: [] } });
  });

  it('fails ping once the journal has failed (so readiness fails), but still answers hello', async () => {
    expect(run({ ping: 1, $db: 'admin' })).toEqual({ ok: 1 });
    const writer = (engine as unknown as { writer: { fd: number } }).writer;
    const realFd = writer.fd;
    // An invalid descriptor makes the next append fail as a full or broken disk would.
    writer.fd = 2 ** 30;
    expect(run({ insert: 'c', documents: [{ _id: 1 }] })).toMatchObject({ ok: 0, code: 1 });
    expect(run({ ping: 1, $db: 'admin' })).toMatchObject({
      ok: 0,
      code: 1,
      codeName: 'InternalError',
      errmsg: expect.stringContaining('could not be written'),
    });
    // The handshake still works, so a client connects and is told why by its next command.
    expect(run({ hello: 1, $db: 'admin' })).toMatchObject({ ok: 1, isWritablePrimary: true });
    writer.fd = realFd;
    await expect(engine.close()).rejects.toThrow(/could not be written/);
    expect(run({ ping: 1, $db: 'admin' })).toMatchObject({ ok: 0, code: 1 });
  });
});
