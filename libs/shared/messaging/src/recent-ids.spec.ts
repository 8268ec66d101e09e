import { RecentIds } from './recent-ids';

describe('RecentIds', () => {
  it('accepts a new id and refuses it the second time', () => {
    const ids = new RecentIds(10);
    expect(ids.add('req-1')).toBe(true);
    expect(ids.add('req-1')).toBe(false);
    expect(ids.add('req-1')).toBe(false);
  });

  it('tells distinct ids apart', () => {
    const ids = new RecentIds(10);
    expect(ids.add('req-1')).toBe(true);
    expect(ids.add('req-2')).toBe(true);
    expect(ids.add('req-2')).toBe(false);
    expect(ids.add('req-1')).toBe(false);
  });

  it('remembers up to its capacity', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c']) expect(ids.add(id)).toBe(true);
    for (const id of ['a', 'b', 'c']) expect(ids.add(id)).toBe(false);
  });

  it('evicts the oldest id when full', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id);
    // 'a' was evicted, so it counts as new again; the others are still known.
    expect(ids.add('b')).toBe(false);
    expect(ids.add('c')).toBe(false);
    expect(ids.add('d')).toBe(false);
    expect(ids.add('a')).toBe(true);
    // Re-adding 'a' evicted 'b', the oldest by then.
    expect(ids.add('b')).toBe(true);
  });

  it('does not refresh an id when it is seen again', () => {
    const ids = new RecentIds(2);
    ids.add('a');
    ids.add('b');
    expect(ids.add('a')).toBe(false);
    ids.add('c');
    // Insertion order, not last access, decides: 'a' was the oldest.
    expect(ids.add('a')).toBe(true);
  });
});
