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
