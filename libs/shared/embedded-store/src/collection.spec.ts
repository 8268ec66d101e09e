import { ObjectId } from 'bson';
import { Collection } from './collection';

describe('Collection.candidates', () => {
  const collection = new Collection('db', 'c');
  const oid = new ObjectId();
  for (let i = 0; i < 1_000; i++) collection.put({ _id: i, email: `${i}@x` });
  collection.put({ _id: oid, email: 'oid@x' });
  collection.addIndex({ v: 2, key: { email: 1 }, name: 'email_1', unique: true });

  const count = (filter: Record<string, unknown>): number =>
    Array.from(collection.candidates(filter)).length;

  it('answers _id equality and $in from the _id map instead of scanning', () => {
    expect(count({ _id: 5 })).toBe(1);
    expect(count({ _id: 5.0, other: 'x' })).toBe(1);
    expect(count({ _id: { $eq: 7 } })).toBe(1);
    expect(count({ _id: { $in: [1, 2, 2, 5000] } })).toBe(2);
    expect(count({ $and: [{ _id: new ObjectId(oid.toHexString()) }, { a: 1 }] })).toBe(1);
  });

  it('answers equality on a plain unique index, and scans for anything else', () => {
    expect(count({ email: '9@x' })).toBe(1);
    expect(count({ email: { $in: ['9@x', 'nobody'] } })).toBe(1);
    expect(count({ email: /x$/ })).toBe(1_001);
    expect(count({ _id: { $gt: 5 } })).toBe(1_001);
    expect(count({ _id: null })).toBe(1_001);
  });
});

describe('Collection.candidates with non-unique indexes', () => {
  it('narrows equality and $in on the leading field of a declared index, in natural order', () => {
    const collection = new Collection('db', 'c');
    collection.addIndex({ v: 2, key: { jobId: 1, seq: 1 }, name: 'job_seq' });
    for (let i = 0; i < 1_000; i++) collection.put({ _id: i, jobId: `job-${i % 100}`, seq: i });
    // Replacing a document keeps its place in natural order.
    collection.put({ _id: 5, jobId: 'job-5', seq: -1 });
    const found = (filter: Record<string, unknown>): unknown[] =>
      Array.from(collection.candidates(filter), (doc) => doc['_id']);

    expect(found({ jobId: 'job-5' })).toEqual([5, 105, 205, 305, 405, 505, 605, 705, 805, 905]);
    // Candidates only: the query tests seq afterwards.
    expect(found({ jobId: { $in: ['job-7', 'job-3'] }, seq: { $gt: 500 } })).toEqual(
      Array.from({ length: 10 }, (_, k) => [k * 100 + 3, k * 100 + 7]).flat(),
    );
    expect(found({ $and: [{ jobId: 'job-1' }] })).toHaveLength(10);
    expect(found({ jobId: 'none' })).toEqual([]);
    // Not the leading field, or not an equality: every document.
    expect(found({ seq: 5 })).toHaveLength(1_000);
    expect(found({ jobId: /job/ })).toHaveLength(1_000);

    collection.remove(105);
    expect(found({ jobId: 'job-5' })).toHaveLength(9);
    collection.removeIndex('job_seq');
    expect(found({ jobId: 'job-5' })).toHaveLength(999);
  });
});
