import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Binary, Decimal128, ObjectId, UUID } from 'bson';
import { StoreEngine } from './engine';
import type { StoreError } from './errors';
import type { Doc } from './values';

describe('StoreEngine', () => {
  let dir: string;
  let engine: StoreEngine;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-engine-'));
    engine = StoreEngine.open(dir);
  });

  afterEach(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ids = (docs: Doc[]): unknown[] => docs.map((doc) => doc['_id']);

  function thrown(run: () => unknown): StoreError {
    try {
      run();
    } catch (error) {
      return error as StoreError;
    }
    throw new Error('expected an error');
  }

  describe('matching and BSON type comparisons', () => {
    beforeEach(() => {
      engine.insert('db', 'c', [
        { _id: 1, at: new Date('2026-01-01T00:00:00Z'), s: 'b', n: 2, x: null, tags: ['a', 'b'] },
        { _id: 2, at: new Date('2026-02-01T00:00:00Z'), s: 'B', n: 10.5, tags: [] },
        { _id: 3, at: new Date('2025-12-01T00:00:00Z'), s: 'a', n: -1, x: 5, nested: { k: 1 } },
        { _id: 4, s: 'aa', n: 2, x: 'str' },
      ]);
    });

    it('compares dates by instant and never matches a missing date', () => {
      const after = engine.find('db', 'c', {
        filter: { at: { $gt: new Date('2025-12-15T00:00:00Z') } },
      });
      expect(ids(after)).toEqual([1, 2]);
      const before = engine.find('db', 'c', {
        filter: { at: { $lte: new Date('2026-01-01T00:00:00Z') } },
      });
      expect(ids(before)).toEqual([1, 3]);
      expect(ids(engine.find('db', 'c', { sort: { at: -1 }, limit: 3 }))).toEqual([2, 1, 3]);
    });

    it('compares strings byte-wise (upper case before lower case) and only with strings', () => {
      expect(ids(engine.find('db', 'c', { sort: { s: 1 } }))).toEqual([2, 3, 4, 1]);
      expect(ids(engine.find('db', 'c', { filter: { s: { $gte: 'a', $lt: 'b' } } }))).toEqual([
        3, 4,
      ]);
      expect(engine.find('db', 'c', { filter: { s: { $gt: 1 } } })).toEqual([]);
      expect(ids(engine.find('db', 'c', { filter: { s: /^a/ } }))).toEqual([3, 4]);
    });

    it('compares numbers by value, integers and doubles alike', () => {
      expect(ids(engine.find('db', 'c', { filter: { n: 2.0 } }))).toEqual([1, 4]);
      expect(ids(engine.find('db', 'c', { filter: { n: { $gt: 2, $lt: 11 } } }))).toEqual([2]);
      expect(ids(engine.find('db', 'c', { sort: { n: 1, _id: -1 } }))).toEqual([3, 4, 1, 2]);
      expect(engine.find('db', 'c', { filter: { x: { $gt: 1 } } }).map((d) => d['x'])).toEqual([5]);
    });

    it('matches null to null and to missing, and $exists tells them apart', () => {
      expect(ids(engine.find('db', 'c', { filter: { x: null } }))).toEqual([1, 2]);
      expect(ids(engine.find('db', 'c', { filter: { x: { $exists: false } } }))).toEqual([2]);
      expect(ids(engine.find('db', 'c', { filter: { x: { $ne: null } } }))).toEqual([3, 4]);
      // Sorting puts null and missing before numbers, numbers before strings.
      expect(ids(engine.find('db', 'c', { sort: { x: 1 } })).slice(2)).toEqual([3, 4]);
    });

    it('matches array elements, embedded fields and logical operators', () => {
      expect(ids(engine.find('db', 'c', { filter: { tags: 'b' } }))).toEqual([1]);
      expect(ids(engine.find('db', 'c', { filter: { tags: { $size: 0 } } }))).toEqual([2]);
      expect(ids(engine.find('db', 'c', { filter: { 'nested.k': 1 } }))).toEqual([3]);
      expect(
        ids(engine.find('db', 'c', { filter: { $or: [{ n: -1 }, { s: 'B' }], _id: { $ne: 9 } } })),
      ).toEqual([2, 3]);
      expect(ids(engine.find('db', 'c', { filter: { _id: { $in: [4, 1, 99] } } }))).toEqual([4, 1]);
      expect(ids(engine.find('db', 'c', { filter: { $expr: { $gt: ['$n', 5] } } }))).toEqual([2]);
    });

    it('projects, skips and limits after sorting', () => {
      const page = engine.find('db', 'c', {
        sort: { n: -1, _id: 1 },
        projection: { s: 1, _id: 0 },
        skip: 1,
        limit: 2,
      });
      expect(page).toEqual([{ s: 'b' }, { s: 'aa' }]);
      expect(
        engine.find('db', 'c', { filter: { _id: 3 }, projection: { nested: 0, at: 0 } }),
      ).toEqual([{ _id: 3, s: 'a', n: -1, x: 5 }]);
    });

    it('finds ObjectIds by value, alone and in $in', () => {
      const a = new ObjectId();
      const b = new ObjectId();
      engine.insert('db', 'o', [{ _id: a }, { _id: b, ref: a }]);
      expect(
        ids(engine.find('db', 'o', { filter: { _id: new ObjectId(a.toHexString()) } })),
      ).toEqual([a]);
      expect(
        engine.find('db', 'o', { filter: { ref: new ObjectId(a.toHexString()) } }),
      ).toHaveLength(1);
      expect(engine.find('db', 'o', { filter: { _id: { $in: [b, a] } } })).toHaveLength(2);
    });

    it('counts, lists distinct values and aggregates', () => {
      expect(engine.count('db', 'c')).toBe(4);
      expect(engine.count('db', 'c', { n: 2 })).toBe(2);
      expect(engine.count('db', 'c', {}, 1, 2)).toBe(2);
      expect(engine.count('db', 'missing')).toBe(0);
      expect(engine.distinct('db', 'c', 'tags')).toEqual(['a', 'b']);
      expect(engine.distinct('db', 'c', 'n', { n: { $gt: 0 } })).toEqual([2, 10.5]);
      expect(
        engine.aggregate('db', 'c', [
          { $match: { n: { $gte: 2 } } },
          { $group: { _id: '$n', count: { $sum: 1 } } },
          { $sort: { _id: 1 } },
        ]),
      ).toEqual([
        { _id: 2, count: 2 },
        { _id: 10.5, count: 1 },
      ]);
    });

    it('never hands out stored state', () => {
      const [doc] = engine.find('db', 'c', { filter: { _id: 1 } });
      (doc!['tags'] as string[]).push('mutated');
      doc!['s'] = 'mutated';
      const agg = engine.aggregate('db', 'c', [
        { $match: { _id: 1 } },
        { $set: { 'nested.k': 7 } },
      ]);
      expect(agg[0]!['nested']).toEqual({ k: 7 });
      expect(engine.find('db', 'c', { filter: { _id: 1 } })[0]).toMatchObject({
        s: 'b',
        tags: ['a', 'b'],
      });
      const input = { _id: 50, list: [1] };
      engine.insert('db', 'c', [input]);
      input.list.push(2);
      expect(engine.find('db', 'c', { filter: { _id: 50 } })[0]!['list']).toEqual([1]);
    });
  });

  describe('inserts', () => {
    it('generates ObjectIds, puts _id first and refuses duplicates by value', () => {
      const result = engine.insert('db', 'c', [{ a: 1 }, { b: 2, _id: 'x' }]);
      expect(result).toEqual({ n: 2, writeErrors: [] });
      const [generated, given] = engine.find('db', 'c');
      expect(generated!['_id']).toBeInstanceOf(ObjectId);
      expect(Object.keys(given!)).toEqual(['_id', 'b']);

      engine.insert('db', 'n', [{ _id: 1 }]);
      const duplicate = engine.insert('db', 'n', [{ _id: 1.0 }]);
      expect(duplicate.writeErrors[0]).toMatchObject({
        index: 0,
        code: 11000,
        errmsg: 'E11000 duplicate key error collection: db.n index: _id_ dup key: { _id: 1 }',
        keyPattern: { _id: 1 },
        keyValue: { _id: 1 },
      });
    });

    it('stops an ordered batch at the first error and continues an unordered one', () => {
      engine.insert('db', 'c', [{ _id: 2 }]);
      const ordered = engine.insert('db', 'c', [{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
      expect(ordered.n).toBe(1);
      expect(ordered.writeErrors.map((e) => e.index)).toEqual([1]);
      const unordered = engine.insert(
        'db',
        'c',
        [{ _id: 2 }, { _id: 4 }, { _id: 4 }, { _id: 5 }],
        false,
      );
      expect(unordered.n).toBe(2);
      expect(unordered.writeErrors.map((e) => e.index)).toEqual([0, 2]);
      expect(ids(engine.find('db', 'c'))).toEqual([2, 1, 4, 5]);
    });

    it('refuses array _ids and top-level $ fields', () => {
      const result = engine.insert('db', 'c', [{ _id: [1] }, { $bad: 1 }], false);
      expect(result.writeErrors.map((e) => e.code)).toEqual([2, 2]);
      expect(engine.count('db', 'c')).toBe(0);
    });
  });

  describe('BSON types the store refuses to keep', () => {
    // Its unique index keys a Binary by subtype and bytes while the query matcher compares
    // its UTF-8 text, so the two would disagree; refusing such values keeps them in step.
    it('refuses Binary, UUID, Buffer and Decimal128 values anywhere in an inserted document', () => {
      const result = engine.insert(
        'db',
        'c',
        [
          { _id: 1, raw: new Binary(Buffer.from([0xff]), 0) },
          { _id: 2, nested: { list: [1, { id: new UUID() }] } },
          { _id: new Binary(Buffer.from('ab'), 4) },
          { _id: 4, bytes: Buffer.from('abc') },
          { _id: 5, price: Decimal128.fromString('1.10') },
          { _id: 6, fine: 'kept' },
        ],
        false,
      );
      expect(result.n).toBe(1);
      expect(result.writeErrors.map((e) => [e.index, e.code])).toEqual([
        [0, 2],
        [1, 2],
        [2, 2],
        [3, 2],
        [4, 2],
      ]);
      expect(result.writeErrors[0]!.errmsg).toBe(
        "field 'raw' holds a BSON Binary (and UUID) value, which the embedded store does not " +
          'store: its queries cannot compare such values exactly. Store bytes as a base64 or hex ' +
          'string and exact decimals as strings.',
      );
      expect(result.writeErrors[1]!.errmsg).toMatch(
        /^field 'nested\.list\.1\.id' holds a BSON Binary/,
      );
      expect(result.writeErrors[2]!.errmsg).toMatch(/^field '_id' holds a BSON Binary/);
      expect(result.writeErrors[4]!.errmsg).toMatch(/^field 'price' holds a BSON Decimal128/);
      expect(ids(engine.find('db', 'c'))).toEqual([6]);
    });

    it('refuses them in updates and upserts too, leaving the document as it was', () => {
      engine.insert('db', 'c', [{ _id: 1, v: 'a' }]);
      const updated = engine.update(
        'db',
        'c',
        [
          { q: { _id: 1 }, u: { $set: { v: new Binary(Buffer.from('x')) } } },
          { q: { _id: 2 }, u: { $set: { d: Decimal128.fromString('2') } }, upsert: true },
        ],
        false,
      );
      expect(updated.writeErrors.map((e) => e.code)).toEqual([2, 2]);
      expect(() =>
        engine.findAndModify('db', 'c', { query: { _id: 1 }, update: { v: new UUID() } }),
      ).toThrow(/holds a BSON Binary/);
      expect(engine.find('db', 'c')).toEqual([{ _id: 1, v: 'a' }]);
      // A query for such a value finds nothing, as no stored value can equal it.
      expect(engine.find('db', 'c', { filter: { v: new Binary(Buffer.from('a')) } })).toEqual([]);
    });
  });

  describe('updates and upserts', () => {
    beforeEach(() => {
      engine.insert('db', 'c', [
        { _id: 1, n: 1, tags: ['a'] },
        { _id: 2, n: 2, tags: [] },
        { _id: 3, n: 3, tags: ['a', 'b'] },
      ]);
    });

    it('applies operators to one or many documents and counts real changes', () => {
      expect(
        engine.update('db', 'c', [{ q: { n: { $gte: 2 } }, u: { $inc: { n: 10 } } }]),
      ).toMatchObject({
        n: 1,
        nModified: 1,
      });
      expect(
        engine.update('db', 'c', [{ q: { tags: 'a' }, u: { $set: { flag: true } }, multi: true }]),
      ).toMatchObject({ n: 2, nModified: 2 });
      expect(
        engine.update('db', 'c', [{ q: { tags: 'a' }, u: { $set: { flag: true } }, multi: true }]),
      ).toMatchObject({ n: 2, nModified: 0 });
      expect(engine.find('db', 'c', { projection: { n: 1 } })).toEqual([
        { _id: 1, n: 1 },
        { _id: 2, n: 12 },
        { _id: 3, n: 3 },
      ]);
      engine.update('db', 'c', [
        {
          q: { _id: 3 },
          u: { $push: { tags: 'c' }, $unset: { n: '' }, $currentDate: { at: true } },
        },
      ]);
      engine.update('db', 'c', [{ q: { _id: 3 }, u: { $pull: { tags: 'a' } } }]);
      const conflict = engine.update('db', 'c', [
        { q: { _id: 3 }, u: { $push: { tags: 'd' }, $pull: { tags: 'b' } } },
      ]);
      expect(conflict.writeErrors[0]).toMatchObject({ code: 40 });
      const [three] = engine.find('db', 'c', { filter: { _id: 3 } });
      expect(three).toMatchObject({ tags: ['b', 'c'] });
      expect(three!['n']).toBeUndefined();
      expect(three!['at']).toBeInstanceOf(Date);
    });

    it('updates array elements with arrayFilters and runs pipeline updates', () => {
      engine.insert('db', 'g', [{ _id: 1, grades: [50, 95, 99], a: 2, b: 3 }]);
      engine.update('db', 'g', [
        { q: { _id: 1 }, u: { $set: { 'grades.$[g]': 100 } }, arrayFilters: [{ g: { $gte: 95 } }] },
      ]);
      engine.update('db', 'g', [{ q: { _id: 1 }, u: [{ $set: { sum: { $add: ['$a', '$b'] } } }] }]);
      expect(engine.find('db', 'g')[0]).toEqual({
        _id: 1,
        grades: [50, 100, 100],
        a: 2,
        b: 3,
        sum: 5,
      });
    });

    it('replaces a document keeping its _id and refuses to change _id', () => {
      engine.update('db', 'c', [{ q: { _id: 2 }, u: { replaced: true } }]);
      expect(engine.find('db', 'c', { filter: { _id: 2 } })).toEqual([{ _id: 2, replaced: true }]);
      const replaced = engine.update('db', 'c', [{ q: { _id: 2 }, u: { _id: 9, x: 1 } }]);
      expect(replaced.writeErrors[0]).toMatchObject({ code: 66 });
      const operator = engine.update('db', 'c', [{ q: { _id: 2 }, u: { $set: { _id: 9 } } }]);
      expect(operator.writeErrors[0]).toMatchObject({ code: 66 });
      const mixed = engine.update('db', 'c', [{ q: { _id: 2 }, u: { $set: { a: 1 }, b: 2 } }]);
      expect(mixed.writeErrors[0]).toMatchObject({ code: 9 });
    });

    it('upserts from the query equalities, applying $setOnInsert only when inserting', () => {
      const result = engine.update('db', 'c', [
        {
          q: { _id: 'job', $and: [{ 'owner.id': 'w1' }], status: { $eq: 'new' }, n: { $gt: 5 } },
          u: { $set: { n: 7 }, $setOnInsert: { createdAt: new Date(1) } },
          upsert: true,
        },
      ]);
      expect(result).toMatchObject({ n: 1, nModified: 0, upserted: [{ index: 0, _id: 'job' }] });
      expect(engine.find('db', 'c', { filter: { _id: 'job' } })).toEqual([
        { _id: 'job', owner: { id: 'w1' }, status: 'new', n: 7, createdAt: new Date(1) },
      ]);
      const again = engine.update('db', 'c', [
        {
          q: { _id: 'job' },
          u: { $set: { n: 8 }, $setOnInsert: { createdAt: new Date(2) } },
          upsert: true,
        },
      ]);
      expect(again).toMatchObject({ n: 1, nModified: 1, upserted: [] });
      expect(engine.find('db', 'c', { filter: { _id: 'job' } })[0]).toMatchObject({
        n: 8,
        createdAt: new Date(1),
      });
      const onlyOnInsert = engine.update('db', 'c', [
        { q: { _id: 'job' }, u: { $setOnInsert: { x: 1 } }, upsert: true },
      ]);
      expect(onlyOnInsert).toMatchObject({ n: 1, nModified: 0 });

      // `$setOnInsert: doc` may carry the new document's _id (as ApiKeysRepository.ensure does).
      const fromDoc = engine.update('db', 'c', [
        { q: { keyHash: 'h' }, u: { $setOnInsert: { _id: 'key_1', keyHash: 'h' } }, upsert: true },
      ]);
      expect(fromDoc.upserted).toEqual([{ index: 0, _id: 'key_1' }]);
      expect(engine.find('db', 'c', { filter: { keyHash: 'h' } })).toEqual([
        { _id: 'key_1', keyHash: 'h' },
      ]);
      const sameId = engine.update('db', 'c', [
        { q: { _id: 'key_1' }, u: { $set: { _id: 'key_1', v: 1 } } },
      ]);
      expect(sameId).toMatchObject({ n: 1, nModified: 1, writeErrors: [] });

      const generated = engine.update('db', 'c', [
        { q: { kind: 'g' }, u: { kind: 'g', v: 1 }, upsert: true },
      ]);
      expect(generated.upserted[0]!._id).toBeInstanceOf(ObjectId);
    });

    it('runs findAndModify: sort, before/after, remove, upsert, projection', () => {
      const after = engine.findAndModify('db', 'c', {
        query: { tags: 'a' },
        sort: { n: -1 },
        update: { $inc: { n: 1 } },
        returnNew: true,
        fields: { n: 1 },
      });
      expect(after).toEqual({
        lastErrorObject: { n: 1, updatedExisting: true },
        value: { _id: 3, n: 4 },
      });
      const before = engine.findAndModify('db', 'c', {
        query: { _id: 1 },
        update: { $set: { n: 5 } },
      });
      expect(before.value).toMatchObject({ _id: 1, n: 1 });
      const none = engine.findAndModify('db', 'c', {
        query: { _id: 99 },
        update: { $set: { n: 5 } },
      });
      expect(none).toEqual({ lastErrorObject: { n: 0, updatedExisting: false }, value: null });
      const upserted = engine.findAndModify('db', 'c', {
        query: { _id: 99 },
        update: { $setOnInsert: { n: 0 } },
        upsert: true,
        returnNew: true,
      });
      expect(upserted).toEqual({
        lastErrorObject: { n: 1, updatedExisting: false, upserted: 99 },
        value: { _id: 99, n: 0 },
      });
      const removed = engine.findAndModify('db', 'c', { query: { _id: 2 }, remove: true });
      expect(removed).toEqual({ lastErrorObject: { n: 1 }, value: { _id: 2, n: 2, tags: [] } });
      expect(engine.count('db', 'c')).toBe(3);
    });

    it('deletes the first match or every match', () => {
      expect(engine.delete('db', 'c', [{ q: { tags: 'a' }, limit: 1 }]).n).toBe(1);
      expect(ids(engine.find('db', 'c'))).toEqual([2, 3]);
      expect(engine.delete('db', 'c', [{ q: {}, limit: 0 }]).n).toBe(2);
      expect(engine.delete('db', 'missing', [{ q: {}, limit: 0 }]).n).toBe(0);
    });
  });

  describe('unique indexes', () => {
    it('enforces a single-field unique index on insert, update and upsert', () => {
      engine.createIndexes('db', 'u', [{ key: { email: 1 }, name: 'email_1', unique: true }]);
      engine.insert('db', 'u', [
        { _id: 1, email: 'a@x' },
        { _id: 2, email: 'b@x' },
      ]);
      const insert = engine.insert('db', 'u', [{ _id: 3, email: 'a@x' }]);
      expect(insert.writeErrors[0]).toMatchObject({
        code: 11000,
        keyPattern: { email: 1 },
        keyValue: { email: 'a@x' },
        errmsg:
          'E11000 duplicate key error collection: db.u index: email_1 dup key: { email: "a@x" }',
      });
      const update = engine.update('db', 'u', [{ q: { _id: 2 }, u: { $set: { email: 'a@x' } } }]);
      expect(update.writeErrors[0]).toMatchObject({ code: 11000, keyValue: { email: 'a@x' } });
      expect(engine.find('db', 'u', { filter: { _id: 2 } })[0]).toEqual({ _id: 2, email: 'b@x' });
      const upsert = engine.update('db', 'u', [
        { q: { _id: 9 }, u: { $set: { email: 'b@x' } }, upsert: true },
      ]);
      expect(upsert.writeErrors[0]).toMatchObject({ code: 11000 });
      expect(
        thrown(() =>
          engine.findAndModify('db', 'u', {
            query: { _id: 1 },
            update: { $set: { email: 'b@x' } },
          }),
        ),
      ).toMatchObject({ code: 11000, extra: { keyPattern: { email: 1 } } });

      // Freed keys can be taken again; a document may keep its own key.
      engine.update('db', 'u', [{ q: { _id: 1 }, u: { $set: { email: 'c@x' } } }]);
      expect(engine.insert('db', 'u', [{ _id: 4, email: 'a@x' }]).n).toBe(1);
      expect(
        engine.update('db', 'u', [{ q: { _id: 4 }, u: { email: 'a@x', v: 2 } }]).nModified,
      ).toBe(1);
      engine.delete('db', 'u', [{ q: { _id: 4 }, limit: 1 }]);
      expect(engine.insert('db', 'u', [{ _id: 5, email: 'a@x' }]).n).toBe(1);
    });

    it('enforces compound keys, counting missing fields as null', () => {
      engine.createIndexes('db', 'k', [{ key: { ws: 1, name: 1 }, name: 'ws_name', unique: true }]);
      const first = engine.insert(
        'db',
        'k',
        [
          { _id: 1, ws: 'a', name: 'x' },
          { _id: 2, ws: 'b', name: 'x' },
          { _id: 3, ws: 'a', name: 'y' },
          { _id: 4, ws: 'a', name: 'x' },
          { _id: 5 },
          { _id: 6, ws: null },
          { _id: 7, ws: 'a' },
          { _id: 8, ws: 'a', name: null },
        ],
        false,
      );
      expect(first.n).toBe(5);
      expect(first.writeErrors.map((e) => [e.index, e['keyValue']])).toEqual([
        [3, { ws: 'a', name: 'x' }],
        [5, { ws: null, name: null }],
        [7, { ws: 'a', name: null }],
      ]);
    });

    it('skips documents a sparse or partial index does not cover, and indexes array elements', () => {
      engine.createIndexes('db', 's', [
        { key: { code: 1 }, name: 'code_sparse', unique: true, sparse: true },
        {
          key: { slot: 1 },
          name: 'slot_active',
          unique: true,
          partialFilterExpression: { active: true },
        },
        { key: { tags: 1 }, name: 'tags_1', unique: true },
      ]);
      const result = engine.insert(
        'db',
        's',
        [
          { _id: 1, slot: 1, active: true, tags: ['a', 'b'] },
          { _id: 2, slot: 1, active: false, tags: ['c', 'c'] },
          { _id: 3, slot: 1, active: true, tags: ['d'] },
          { _id: 4, tags: ['b'] },
          { _id: 5, code: 'k', tags: ['e'] },
          { _id: 6, code: 'k', tags: ['f'] },
        ],
        false,
      );
      expect(result.writeErrors.map((e) => [e.index, e['keyPattern']])).toEqual([
        [2, { slot: 1 }],
        [3, { tags: 1 }],
        [5, { code: 1 }],
      ]);
    });

    it('refuses to build a unique index over duplicate data and keeps identical requests idempotent', () => {
      engine.insert('db', 'b', [
        { _id: 1, v: 1 },
        { _id: 2, v: 1 },
      ]);
      const error = thrown(() =>
        engine.createIndexes('db', 'b', [
          { key: { w: 1 }, name: 'w_1' },
          { key: { v: 1 }, name: 'v_1', unique: true },
        ]),
      );
      expect(error).toMatchObject({ code: 11000, extra: { keyValue: { v: 1 } } });
      expect(engine.listIndexes('db', 'b').map((i) => i.name)).toEqual(['_id_']);

      const created = engine.createIndexes('db', 'b', [{ key: { w: 1 }, name: 'w_1' }]);
      expect(created).toMatchObject({ numIndexesBefore: 1, numIndexesAfter: 2 });
      expect(
        engine.createIndexes('db', 'b', [{ key: { w: 1 }, name: 'w_1', background: true }]),
      ).toMatchObject({
        numIndexesAfter: 2,
        note: 'all indexes already exist',
      });
      expect(
        thrown(() => engine.createIndexes('db', 'b', [{ key: { w: -1 }, name: 'w_1' }])),
      ).toMatchObject({
        code: 86,
      });
      expect(
        thrown(() => engine.createIndexes('db', 'b', [{ key: { w: 1 }, name: 'other' }])),
      ).toMatchObject({
        code: 85,
      });
      expect(
        thrown(() => engine.createIndexes('db', 'b', [{ key: { at: 1 }, expireAfterSeconds: 60 }])),
      ).toMatchObject({ code: 115 });
      expect(thrown(() => engine.createIndexes('db', 'b', [{ key: { t: 'text' } }]))).toMatchObject(
        {
          code: 115,
        },
      );
      expect(engine.dropIndexes('db', 'b', '*')).toBe(2);
      expect(thrown(() => engine.dropIndexes('db', 'b', '_id_'))).toMatchObject({ code: 72 });
      expect(thrown(() => engine.dropIndexes('db', 'b', 'nope'))).toMatchObject({ code: 27 });
    });

    it('finds by a unique field without losing documents the index cannot see', () => {
      engine.createIndexes('db', 'f', [{ key: { key: 1 }, name: 'key_1', unique: true }]);
      engine.insert('db', 'f', [
        { _id: 1, key: 'a', ws: 'x' },
        { _id: 2, key: 'b', ws: 'y' },
        { _id: 3, key: ['c', 'd'] },
      ]);
      expect(ids(engine.find('db', 'f', { filter: { key: 'a', ws: 'x' } }))).toEqual([1]);
      expect(engine.find('db', 'f', { filter: { key: 'a', ws: 'y' } })).toEqual([]);
      expect(ids(engine.find('db', 'f', { filter: { key: { $in: ['b', 'd', 'z'] } } }))).toEqual([
        2, 3,
      ]);
      expect(ids(engine.find('db', 'f', { filter: { key: ['c', 'd'] } }))).toEqual([3]);
    });
  });

  describe('collections and databases', () => {
    it('creates, lists and drops collections and databases', () => {
      engine.createCollection('db', 'explicit');
      expect(thrown(() => engine.createCollection('db', 'explicit'))).toMatchObject({ code: 48 });
      expect(thrown(() => engine.createCollection('db', 'capped', { capped: true }))).toMatchObject(
        {
          code: 115,
        },
      );
      engine.insert('db', 'implicit', [{ _id: 1 }]);
      engine.insert('other', 'c', [{ _id: 1 }]);
      expect(engine.listCollections('db').map((c) => c['name'])).toEqual(['explicit', 'implicit']);
      expect(engine.listCollections('db', { name: 'implicit' }, true)).toEqual([
        { name: 'implicit', type: 'collection' },
      ]);
      expect(engine.listDatabases().map((d) => d.name)).toEqual(['db', 'other']);
      expect(engine.dropCollection('db', 'implicit')).toBe(1);
      expect(thrown(() => engine.dropCollection('db', 'implicit'))).toMatchObject({ code: 26 });
      engine.dropDatabase('other');
      expect(engine.listDatabases().map((d) => d.name)).toEqual(['db']);
      expect(thrown(() => engine.insert('bad.name', 'c', [{}]))).toMatchObject({ code: 73 });
    });
  });

  describe('non-unique index look-ups', () => {
    it('give the same results as a full scan for a mix of queries and writes', async () => {
      const scanned = StoreEngine.open(fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-scan-')));
      const engines = [engine, scanned];
      engine.createIndexes('db', 'tasks', [
        { key: { jobId: 1, seq: 1 }, name: 'job_seq' },
        { key: { workspaceId: 1, at: -1 }, name: 'ws_at' },
        { key: { tags: 1 }, name: 'tags_1' },
        { key: { state: 1 }, name: 'state_partial', partialFilterExpression: { state: 'x' } },
      ]);
      let seed = 7;
      const random = (n: number): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const docs: Doc[] = [];
      for (let i = 0; i < 600; i++) {
        const jobValues: unknown[] = [`job-${random(20)}`, random(5), null, [`job-${random(20)}`]];
        const doc: Doc = {
          _id: i % 7 === 0 ? new ObjectId() : i,
          jobId: jobValues[random(4)],
          seq: random(50),
          workspaceId: random(10) === 0 ? undefined : `ws-${random(4)}`,
          at: new Date(1_700_000_000_000 + random(1000) * 1000),
          tags: random(3) === 0 ? [] : [`t${random(5)}`, `t${random(5)}`],
          state: ['x', 'y', 'z'][random(3)],
        };
        if (doc['workspaceId'] === undefined) delete doc['workspaceId'];
        docs.push(doc);
      }
      for (const target of engines) target.insert('db', 'tasks', docs);
      for (const target of engines) {
        target.update('db', 'tasks', [
          { q: { jobId: 'job-3' }, u: { $set: { jobId: 'job-4', moved: true } }, multi: true },
          {
            q: { workspaceId: 'ws-1', seq: { $lt: 10 } },
            u: { $set: { workspaceId: 'ws-9' } },
            multi: true,
          },
          { q: { _id: 'up', jobId: 'job-new' }, u: { $set: { seq: 1 } }, upsert: true },
        ]);
        target.delete('db', 'tasks', [{ q: { jobId: 'job-5' }, limit: 0 }]);
        target.findAndModify('db', 'tasks', {
          query: { tags: 't1' },
          sort: { seq: -1 },
          remove: true,
        });
      }
      const filters: Doc[] = [
        { jobId: 'job-4' },
        { jobId: 'job-7', seq: { $gte: 10 } },
        { jobId: { $in: ['job-1', 'job-2', 3, 'job-new'] } },
        { jobId: 2 },
        { jobId: 2.0 },
        { jobId: null },
        { jobId: { $eq: 'job-9' }, workspaceId: 'ws-0' },
        { workspaceId: 'ws-2' },
        { workspaceId: 'ws-9', at: { $lt: new Date(1_700_000_500_000) } },
        { $and: [{ workspaceId: 'ws-3' }, { tags: 't2' }] },
        { tags: 't4' },
        { tags: { $in: ['t0', 't3'] } },
        { state: 'x' },
        { jobId: 'job-1', $or: [{ seq: 1 }, { seq: { $gt: 40 } }] },
        { jobId: 'nobody' },
      ];
      for (const filter of filters) {
        for (const sort of [undefined, { at: -1 }, { $natural: -1 }]) {
          const [indexed, full] = engines.map((target) =>
            target.find('db', 'tasks', { filter, ...(sort && { sort }), skip: 1, limit: 25 }),
          );
          expect({ filter, sort, docs: indexed }).toEqual({ filter, sort, docs: full });
        }
        const [indexedAll, fullAll] = engines.map((target) =>
          target.find('db', 'tasks', { filter }),
        );
        expect(indexedAll).toEqual(fullAll);
        expect(engine.count('db', 'tasks', filter)).toBe(scanned.count('db', 'tasks', filter));
        expect(engine.distinct('db', 'tasks', 'seq', filter)).toEqual(
          scanned.distinct('db', 'tasks', 'seq', filter),
        );
        expect(
          engine.aggregate('db', 'tasks', [{ $match: filter }, { $project: { seq: 1 } }]),
        ).toEqual(scanned.aggregate('db', 'tasks', [{ $match: filter }, { $project: { seq: 1 } }]));
      }
      // Rebuilt at open: a reopened engine answers the same.
      await engine.close();
      engine = StoreEngine.open(dir);
      for (const filter of filters) {
        expect(engine.find('db', 'tasks', { filter })).toEqual(
          scanned.find('db', 'tasks', { filter }),
        );
      }
      await scanned.close();
    });
  });
});
