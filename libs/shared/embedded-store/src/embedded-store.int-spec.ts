import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BSON,
  Long,
  MongoBulkWriteError,
  MongoClient,
  ObjectId,
  type MongoServerError,
} from 'mongodb';
import mongoose, { Schema, type Connection } from 'mongoose';

const { serialize, deserialize } = BSON;
import { startEmbeddedStore, type EmbeddedStoreServer } from './index';

interface Pipeline {
  _id: string;
  workspaceId: string;
  name: string;
  version: number;
  createdAt: Date;
  tags: string[];
}

const PipelineSchema = new Schema<Pipeline>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    tags: { type: [String], default: [] },
  },
  { versionKey: false },
);
PipelineSchema.index({ workspaceId: 1, name: 1 }, { unique: true });

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-embedded-it-'));
}

/** One raw request over a fresh socket: the bytes back, or 'closed' when the server hangs up. */
function rawExchange(port: number, bytes: Buffer): Promise<Buffer | 'closed'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => resolve('closed'));
    socket.on('close', () => resolve(chunks.length > 0 ? Buffer.concat(chunks) : 'closed'));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer in 5 s'));
    }, 5_000).unref();
  });
}

/** Sends `pieces` with pauses between them and collects `count` whole replies. */
function rawReplies(port: number, pieces: Buffer[], count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let received: Buffer = Buffer.alloc(0);
    const replies: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 4 && received.length >= received.readInt32LE(0)) {
        replies.push(received.subarray(0, received.readInt32LE(0)));
        received = received.subarray(received.readInt32LE(0));
      }
      if (replies.length >= count) {
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  });
}

function opMsg(requestId: number, body: object): Buffer {
  const doc = Buffer.from(serialize(body));
  const message = Buffer.alloc(21 + doc.length);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(requestId, 4);
  message.writeInt32LE(2013, 12);
  doc.copy(message, 21);
  return message;
}

function opQuery(requestId: number, collection: string, query: object): Buffer {
  const doc = Buffer.from(serialize(query));
  const name = Buffer.from(`${collection}\0`);
  const message = Buffer.concat([Buffer.alloc(20), name, Buffer.alloc(8), doc]);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(requestId, 4);
  message.writeInt32LE(2004, 12);
  return message;
}

describe('embedded store through the real mongodb driver and mongoose', () => {
  let dir: string;
  let store: EmbeddedStoreServer;
  let client: MongoClient;
  let connection: Connection;

  beforeAll(async () => {
    dir = tempDir();
    store = await startEmbeddedStore({ dir });
    client = await new MongoClient(store.url).connect();
    connection = await mongoose.createConnection(store.url).asPromise();
  });

  afterAll(async () => {
    await connection?.close();
    await client?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers a url on loopback and the admin ping', async () => {
    expect(store.url).toBe(`mongodb://127.0.0.1:${store.port}/cloudflow`);
    expect(await client.db().admin().ping()).toMatchObject({ ok: 1 });
    const info = await client.db().admin().buildInfo();
    expect(info['version']).toMatch(/^7\.0\.0/);
  });

  it('runs CRUD through a mongoose model with a schema and a unique index', async () => {
    const Pipelines = connection.model<Pipeline>('pipelines', PipelineSchema);
    await Pipelines.init();
    const createdAt = new Date('2026-01-02T03:04:05.678Z');
    await Pipelines.create({
      _id: 'pl_1',
      workspaceId: 'ws_a',
      name: 'nightly',
      version: 1,
      createdAt,
    });
    const found = await Pipelines.findById('pl_1').lean().exec();
    expect(found).toEqual({
      _id: 'pl_1',
      workspaceId: 'ws_a',
      name: 'nightly',
      version: 1,
      createdAt,
      tags: [],
    });
    expect(found?.createdAt).toBeInstanceOf(Date);

    const updated = await Pipelines.findOneAndUpdate(
      { _id: 'pl_1', version: 1 },
      { $inc: { version: 1 }, $push: { tags: 'etl' } },
      { returnDocument: 'after' },
    )
      .lean()
      .exec();
    expect(updated).toMatchObject({ version: 2, tags: ['etl'] });
    // A stale version no longer matches: the optimistic concurrency CloudFlow's repositories use.
    expect(
      await Pipelines.findOneAndUpdate({ _id: 'pl_1', version: 1 }, { $inc: { version: 1 } })
        .lean()
        .exec(),
    ).toBeNull();

    const duplicate = await Pipelines.create({
      _id: 'pl_2',
      workspaceId: 'ws_a',
      name: 'nightly',
      version: 1,
      createdAt,
    }).catch((error: unknown) => error);
    expect(duplicate).toMatchObject({
      code: 11000,
      keyPattern: { workspaceId: 1, name: 1 },
      keyValue: { workspaceId: 'ws_a', name: 'nightly' },
    });
    expect((duplicate as Error).message).toContain(
      'E11000 duplicate key error collection: cloudflow.pipelines index: workspaceId_1_name_1 dup key',
    );
    const sameId = await Pipelines.create({
      _id: 'pl_1',
      workspaceId: 'ws_b',
      name: 'other',
      version: 1,
      createdAt,
    }).catch((error: unknown) => error);
    expect(sameId).toMatchObject({
      code: 11000,
      keyPattern: { _id: 1 },
      keyValue: { _id: 'pl_1' },
    });

    const result = await Pipelines.updateOne({ _id: 'pl_1' }, { $set: { name: 'renamed' } }).exec();
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    const unchanged = await Pipelines.updateOne(
      { _id: 'pl_1' },
      { $set: { name: 'renamed' } },
    ).exec();
    expect(unchanged).toMatchObject({ matchedCount: 1, modifiedCount: 0 });

    expect(await Pipelines.deleteOne({ _id: 'pl_1' }).exec()).toMatchObject({ deletedCount: 1 });
    expect(await Pipelines.findById('pl_1').exec()).toBeNull();
  });

  it('inserts unordered batches past duplicates and reports each one with its index', async () => {
    const items = client.db('it_batches').collection<{ _id: number; v?: string }>('items');
    await items.insertOne({ _id: 2 });
    const error = await items
      .insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }, { _id: 3 }, { _id: 4, v: 'x' }], {
        ordered: false,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulk = error as MongoBulkWriteError;
    expect(bulk.writeErrors).toHaveLength(2);
    const writeErrors = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors];
    expect(writeErrors.map((e) => [e.index, e.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(bulk.result.insertedCount).toBe(3);
    const ids = (await items.find().sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(ids).toEqual([1, 2, 3, 4]);

    // Ordered: stops at the first duplicate.
    const ordered = await items
      .insertMany([{ _id: 5 }, { _id: 1 }, { _id: 6 }])
      .catch((e: unknown) => e as MongoBulkWriteError);
    expect((ordered as MongoBulkWriteError).result.insertedCount).toBe(1);
    expect(await items.countDocuments({ _id: { $in: [5, 6] } })).toBe(1);
  });

  it('upserts with $setOnInsert and returns the document after', async () => {
    const leases = client.db('it_upsert').collection<{
      _id: string;
      owner: string;
      createdAt?: Date;
      renewals: number;
    }>('leases');
    const created = await leases.findOneAndUpdate(
      { _id: 'task_1' },
      { $setOnInsert: { createdAt: new Date(1000) }, $set: { owner: 'w1' }, $inc: { renewals: 1 } },
      { upsert: true, returnDocument: 'after', includeResultMetadata: true },
    );
    expect(created.value).toEqual({
      _id: 'task_1',
      createdAt: new Date(1000),
      owner: 'w1',
      renewals: 1,
    });
    expect(created.lastErrorObject).toMatchObject({
      n: 1,
      updatedExisting: false,
      upserted: 'task_1',
    });

    const again = await leases.findOneAndUpdate(
      { _id: 'task_1' },
      { $setOnInsert: { createdAt: new Date(2000) }, $set: { owner: 'w2' }, $inc: { renewals: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(again).toEqual({ _id: 'task_1', createdAt: new Date(1000), owner: 'w2', renewals: 2 });

    const upserted = await leases.updateOne(
      { _id: 'task_2', owner: 'w3' },
      { $set: { renewals: 0 } },
      { upsert: true },
    );
    expect(upserted).toMatchObject({ upsertedCount: 1, upsertedId: 'task_2', matchedCount: 0 });
    expect(await leases.findOne({ _id: 'task_2' })).toEqual({
      _id: 'task_2',
      owner: 'w3',
      renewals: 0,
    });

    const generated = await leases.updateOne(
      { owner: 'w4' },
      { $set: { renewals: 0 } },
      { upsert: true },
    );
    expect(generated.upsertedId).toBeInstanceOf(ObjectId);

    const replaced = await leases.replaceOne(
      { _id: 'task_2' },
      { owner: 'w5', renewals: 9 },
      { upsert: true },
    );
    expect(replaced).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await leases.findOne({ _id: 'task_2' })).toEqual({
      _id: 'task_2',
      owner: 'w5',
      renewals: 9,
    });
  });

  it('lets exactly one of many concurrent clients take an _id, and loses no increment', async () => {
    const slots = client.db('it_atomic').collection<{ _id: string; n?: number }>('slots');
    const attempts = await Promise.allSettled(
      Array.from({ length: 30 }, () => slots.insertOne({ _id: 'slot' })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    expect(
      attempts.filter(
        (a) => a.status === 'rejected' && (a.reason as { code?: number }).code === 11000,
      ),
    ).toHaveLength(29);
    await Promise.all(
      Array.from({ length: 100 }, () =>
        slots.findOneAndUpdate({ _id: 'counter' }, { $inc: { n: 1 } }, { upsert: true }),
      ),
    );
    expect(await slots.findOne({ _id: 'counter' })).toEqual({ _id: 'counter', n: 100 });
  });

  it('counts, sorts, skips, limits and projects', async () => {
    const rows = client
      .db('it_queries')
      .collection<{ _id: number; group: string; at: Date; n: number }>('rows');
    await rows.insertMany(
      Array.from({ length: 50 }, (_, i) => ({
        _id: i,
        group: i % 2 === 0 ? 'even' : 'odd',
        at: new Date(1_000_000 - i * 1000),
        n: i,
      })),
    );
    expect(await rows.countDocuments()).toBe(50);
    expect(await rows.countDocuments({ group: 'even' })).toBe(25);
    expect(await rows.countDocuments({ group: 'even' }, { skip: 5, limit: 10 })).toBe(10);
    expect(await rows.estimatedDocumentCount()).toBe(50);

    const page = await rows
      .find({ n: { $gte: 10 } }, { projection: { _id: 0, n: 1 } })
      .sort({ at: 1 })
      .skip(2)
      .limit(3)
      .toArray();
    expect(page).toEqual([{ n: 47 }, { n: 46 }, { n: 45 }]);

    const distinctGroups = await rows.distinct('group');
    expect(distinctGroups.sort()).toEqual(['even', 'odd']);

    const grouped = await rows
      .aggregate<{
        _id: string;
        total: number;
      }>([
        { $match: { n: { $lt: 10 } } },
        { $group: { _id: '$group', total: { $sum: '$n' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(grouped).toEqual([
      { _id: 'even', total: 20 },
      { _id: 'odd', total: 25 },
    ]);

    const Model = connection
      .useDb('it_queries')
      .model(
        'Row',
        new Schema({ _id: Number, group: String, at: Date, n: Number }, { versionKey: false }),
        'rows',
      );
    expect(await Model.countDocuments({ group: 'odd' }).exec()).toBe(25);
    expect(await Model.estimatedDocumentCount().exec()).toBe(50);
    const latest = await Model.find().sort({ at: -1 }).limit(1).lean().exec();
    expect(latest).toEqual([{ _id: 0, group: 'even', at: new Date(1_000_000), n: 0 }]);
  });

  it('pages 10,000 documents through getMore in order', async () => {
    const big = client.db('it_cursor').collection<{ _id: number; pad: string }>('big');
    const batch = 1_000;
    for (let start = 0; start < 10_000; start += batch) {
      await big.insertMany(
        Array.from({ length: batch }, (_, i) => ({ _id: start + i, pad: 'x'.repeat(100) })),
      );
    }
    let expected = 0;
    for await (const doc of big.find({}, { batchSize: 700 })) {
      expect(doc._id).toBe(expected);
      expected++;
    }
    expect(expected).toBe(10_000);
    const reversed = await big.find().sort({ _id: -1 }).toArray();
    expect(reversed).toHaveLength(10_000);
    expect(reversed[0]?._id).toBe(9_999);
    expect(reversed[9_999]?._id).toBe(0);
  });

  it('lists, creates and drops collections and indexes', async () => {
    const db = client.db('it_catalog');
    await db.createCollection('explicit');
    await expect(db.createCollection('explicit')).rejects.toMatchObject({ code: 48 });
    await db.collection('implicit').insertOne({ a: 1 });
    const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['explicit', 'implicit']);
    expect(await db.listCollections({ name: 'implicit' }, { nameOnly: true }).toArray()).toEqual([
      { name: 'implicit', type: 'collection' },
    ]);

    const implicit = db.collection('implicit');
    expect(
      await implicit.createIndexes([{ key: { a: 1 }, unique: true }, { key: { b: -1 } }]),
    ).toEqual(['a_1', 'b_-1']);
    // The same index again is a no-op, as mongoose's autoIndex relies on.
    await implicit.createIndex({ a: 1 }, { unique: true });
    const indexes = await implicit.listIndexes().toArray();
    expect(indexes.map((i) => i['name'])).toEqual(['_id_', 'a_1', 'b_-1']);
    expect(indexes[1]).toMatchObject({ key: { a: 1 }, unique: true });
    await expect(implicit.insertOne({ a: 1 })).rejects.toMatchObject({ code: 11000 });
    await implicit.dropIndex('a_1');
    await implicit.insertOne({ a: 1 });
    await expect(implicit.listIndexes().toArray()).resolves.toHaveLength(2);

    expect(await implicit.drop()).toBe(true);
    // Dropping a missing collection: the server's code 26, which the driver turns into false.
    await expect(db.collection('never').drop()).resolves.toBe(false);
    const dropped = await db
      .command({ drop: 'never' })
      .catch((e: unknown) => e as MongoServerError);
    expect(dropped).toMatchObject({ code: 26, codeName: 'NamespaceNotFound' });
    expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(['explicit']);
    await expect(db.collection('never').listIndexes().toArray()).rejects.toMatchObject({
      code: 26,
    });
  });

  it('answers unknown commands and transactions with errors, keeping the connection', async () => {
    await expect(client.db().command({ frobnicate: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: 'CommandNotFound',
      message: "no such command: 'frobnicate'",
    });
    // The driver itself sees a standalone server and will not start one...
    const session = client.startSession();
    try {
      session.startTransaction();
      await expect(
        client.db('it_tx').collection('t').insertOne({ a: 1 }, { session }),
      ).rejects.toThrow();
    } finally {
      await session.endSession();
    }
    // ...and a client that tries anyway is refused by the server.
    await expect(
      client.db('it_tx').command({
        insert: 't',
        documents: [{ a: 1 }],
        txnNumber: Long.fromNumber(1),
        startTransaction: true,
        autocommit: false,
      }),
    ).rejects.toMatchObject({
      code: 20,
      message: expect.stringMatching(/Transactions are not supported/),
    });
    expect(await client.db('it_tx').collection('t').countDocuments()).toBe(0);
    expect(await client.db().admin().ping()).toMatchObject({ ok: 1 });
  });

  it('closes only the connection that sent a malformed message', async () => {
    const garbage = Buffer.alloc(32, 0xff);
    garbage.writeInt32LE(32, 0);
    garbage.writeInt32LE(2013, 12);
    expect(await rawExchange(store.port, garbage)).toBe('closed');
    const unknownOpcode = Buffer.alloc(16);
    unknownOpcode.writeInt32LE(16, 0);
    unknownOpcode.writeInt32LE(9999, 12);
    expect(await rawExchange(store.port, unknownOpcode)).toBe('closed');
    const tooLong = Buffer.alloc(4);
    tooLong.writeInt32LE(60_000_000, 0);
    expect(await rawExchange(store.port, tooLong)).toBe('closed');
    expect(await client.db().admin().ping()).toMatchObject({ ok: 1 });
    expect(await client.db('it_batches').collection('items').countDocuments()).toBeGreaterThan(0);
  });

  it('answers messages split across packets and packed into one, in order', async () => {
    const ping = (id: number): Buffer => opMsg(id, { ping: 1, $db: 'admin' });
    const third = ping(3);
    const pieces: Buffer[] = [Buffer.concat([ping(1), ping(2), third.subarray(0, 3)])];
    for (let i = 3; i < third.length; i += 5) pieces.push(third.subarray(i, i + 5));
    const replies = await rawReplies(store.port, pieces, 3);
    expect(replies.map((reply) => reply.readInt32LE(8))).toEqual([1, 2, 3]);
    expect(replies.map((reply) => deserialize(reply.subarray(21)))).toEqual([
      { ok: 1 },
      { ok: 1 },
      { ok: 1 },
    ]);
  });

  it('answers the legacy OP_QUERY handshake and refuses other OP_QUERY commands', async () => {
    const [hello, other] = await rawReplies(
      store.port,
      [opQuery(5, 'admin.$cmd', { isMaster: 1 }), opQuery(6, 'admin.$cmd', { ping: 1 })],
      2,
    );
    expect(hello!.readInt32LE(12)).toBe(1);
    expect(hello!.readInt32LE(8)).toBe(5);
    expect(deserialize(hello!.subarray(36))).toMatchObject({ ismaster: true, maxWireVersion: 21 });
    expect(deserialize(other!.subarray(36))).toMatchObject({ ok: 0, code: 352 });
  });

  it('keeps every document and index across close and reopen of the same directory', async () => {
    const reopenDir = tempDir();
    try {
      let server = await startEmbeddedStore({ dir: reopenDir });
      let mongo = await new MongoClient(server.url).connect();
      const docs = mongo
        .db('it_reopen')
        .collection<{ _id: string; email: string; n: number }>('users');
      await docs.createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
      await docs.insertMany(
        Array.from({ length: 500 }, (_, i) => ({ _id: `u${i}`, email: `${i}@x`, n: i })),
      );
      await docs.updateMany({ n: { $lt: 100 } }, { $set: { n: -1 } });
      await docs.deleteMany({ n: { $gte: 400 } });
      await mongo.db('it_reopen').collection<{ _id: string }>('empty').insertOne({ _id: 'gone' });
      await mongo.db('it_reopen').collection<{ _id: string }>('empty').deleteOne({ _id: 'gone' });
      await mongo.close();
      await server.close();

      server = await startEmbeddedStore({ dir: reopenDir });
      mongo = await new MongoClient(server.url).connect();
      const reopened = mongo
        .db('it_reopen')
        .collection<{ _id: string; email: string; n: number }>('users');
      expect(await reopened.countDocuments()).toBe(400);
      expect(await reopened.countDocuments({ n: -1 })).toBe(100);
      expect(await reopened.findOne({ _id: 'u250' })).toEqual({
        _id: 'u250',
        email: '250@x',
        n: 250,
      });
      expect((await reopened.listIndexes().toArray()).map((i) => i['name'])).toEqual([
        '_id_',
        'email_unique',
      ]);
      await expect(reopened.insertOne({ _id: 'new', email: '7@x', n: 0 })).rejects.toMatchObject({
        code: 11000,
      });
      const names = (await mongo.db('it_reopen').listCollections().toArray()).map((c) => c.name);
      expect(names.sort()).toEqual(['empty', 'users']);
      await mongo.close();
      await server.close();
    } finally {
      fs.rmSync(reopenDir, { recursive: true, force: true });
    }
  });

  it('keeps its directory and files owner-only and refuses Binary values with a clear error', async () => {
    const parent = tempDir();
    const umask = process.umask(0o022);
    try {
      const storeDir = path.join(parent, 'home', 'store');
      const server = await startEmbeddedStore({ dir: storeDir });
      const mongo = await new MongoClient(server.url).connect();
      try {
        const mode = (name: string): number => fs.statSync(path.join(storeDir, name)).mode & 0o777;
        expect(mode('.')).toBe(0o700);
        expect(mode('journal.cfdb')).toBe(0o600);
        expect(mode('LOCK')).toBe(0o600);
        const coll = mongo.db('it_types').collection('c');
        await expect(coll.insertOne({ raw: Buffer.from('abc') })).rejects.toMatchObject({
          code: 2,
          message: expect.stringContaining("field 'raw' holds a BSON Binary"),
        });
        expect(await coll.countDocuments()).toBe(0);
      } finally {
        await mongo.close();
        await server.close();
      }
    } finally {
      process.umask(umask);
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('refuses a second server on a directory that is in use', async () => {
    await expect(startEmbeddedStore({ dir })).rejects.toThrow(
      new RegExp(
        `embedded store directory .*${path.basename(dir)} is in use by process ${process.pid}`,
      ),
    );
    expect(await client.db().admin().ping()).toMatchObject({ ok: 1 });
  });
});

describe('embedded store on a Unix socket', () => {
  it('serves the driver through a socket only its owner can open, and removes a stale one', async () => {
    const dir = tempDir();
    const socketPath = path.join(dir, 'store.sock');
    // A socket file left by a process that was killed while listening on it.
    const holder = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);
    const store = await startEmbeddedStore({ dir, socketPath });
    try {
      expect(store.url).toBe(`mongodb://${encodeURIComponent(socketPath)}/cloudflow`);
      expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
      const client = await new MongoClient(store.url).connect();
      try {
        await client
          .db()
          .collection('things')
          .insertOne({ _id: 'a' as never, n: 1 });
        expect(
          await client
            .db()
            .collection('things')
            .findOne({ _id: 'a' as never }),
        ).toEqual({
          _id: 'a',
          n: 1,
        });
      } finally {
        await client.close();
      }
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a socket path the system cannot bind, and a path that is not a socket', async () => {
    const dir = tempDir();
    try {
      await expect(
        startEmbeddedStore({ dir, socketPath: path.join(dir, 'x'.repeat(120)) }),
      ).rejects.toThrow(/longer than 100 bytes/);
      fs.writeFileSync(path.join(dir, 'taken'), 'data');
      await expect(
        startEmbeddedStore({ dir, socketPath: path.join(dir, 'taken') }),
      ).rejects.toThrow(/is not a socket/);
      expect(fs.readFileSync(path.join(dir, 'taken'), 'utf8')).toBe('data');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
