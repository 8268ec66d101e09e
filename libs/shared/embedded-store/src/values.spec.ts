import { Binary, Decimal128, Long, ObjectId } from 'bson';
import {
  MISSING,
  canonicalKey,
  deepCopy,
  formatValue,
  pathValues,
  setPath,
  withIdFirst,
} from './values';

describe('canonicalKey', () => {
  it('gives numbers one key whatever their BSON type, as MongoDB compares them', () => {
    expect(canonicalKey(1)).toBe(canonicalKey(1.0));
    expect(canonicalKey(1)).toBe(canonicalKey(Long.fromNumber(1)));
    expect(canonicalKey(0)).toBe(canonicalKey(-0));
    expect(canonicalKey(2 ** 60)).toBe(canonicalKey(Long.fromString('1152921504606846976')));
    expect(canonicalKey(Long.fromString('9007199254740993'))).not.toBe(canonicalKey(2 ** 53));
    expect(canonicalKey(1)).not.toBe(canonicalKey('1'));
    expect(canonicalKey(1.5)).not.toBe(canonicalKey(1));
  });

  it('compares strings by their exact characters', () => {
    expect(canonicalKey('abc')).toBe(canonicalKey('abc'));
    expect(canonicalKey('abc')).not.toBe(canonicalKey('ABC'));
    expect(canonicalKey('a,b')).not.toBe(canonicalKey(['a', 'b']));
  });

  it('compares ObjectIds, dates and binaries by value', () => {
    const id = new ObjectId();
    expect(canonicalKey(id)).toBe(canonicalKey(new ObjectId(id.toHexString())));
    expect(canonicalKey(id)).not.toBe(canonicalKey(id.toHexString()));
    expect(canonicalKey(new Date(5))).toBe(canonicalKey(new Date(5)));
    expect(canonicalKey(new Date(5))).not.toBe(canonicalKey(5));
    expect(canonicalKey(new Binary(Buffer.from('ab')))).toBe(
      canonicalKey(new Binary(Buffer.from('ab'))),
    );
    expect(canonicalKey(Decimal128.fromString('1.5'))).toBe(
      canonicalKey(Decimal128.fromString('1.5')),
    );
  });

  it('treats null and missing alike and keeps embedded documents field-order sensitive', () => {
    expect(canonicalKey(null)).toBe(canonicalKey(undefined));
    expect(canonicalKey({ a: 1, b: 2 })).toBe(canonicalKey({ a: 1, b: 2, c: undefined }));
    expect(canonicalKey({ a: 1, b: 2 })).not.toBe(canonicalKey({ b: 2, a: 1 }));
    expect(canonicalKey(true)).not.toBe(canonicalKey(1));
  });
});

describe('deepCopy', () => {
  it('returns a copy sharing nothing mutable with the original', () => {
    const original = {
      _id: new ObjectId(),
      nested: { list: [1, { deep: 'x' }] },
      at: new Date(10),
      raw: new Binary(Buffer.from('xyz')),
    };
    const copy = deepCopy(original);
    expect(copy).toEqual(original);
    copy.nested.list.push(2);
    (copy.nested.list[1] as { deep: string }).deep = 'changed';
    copy.at.setTime(20);
    copy.raw.write(Buffer.from('q'), 0);
    expect(original.nested.list).toEqual([1, { deep: 'x' }]);
    expect(original.at.getTime()).toBe(10);
    expect(Buffer.from(original.raw.value()).toString()).toBe('xyz');
  });

  it('copies a __proto__ key as data, not as a prototype', () => {
    const original = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const copy = deepCopy(original);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__']);
  });
});

describe('paths', () => {
  it('reaches every array element the way a multikey index does', () => {
    const doc = { a: [{ b: 1 }, { b: 2 }, { c: 3 }], tags: ['x', 'y'], empty: [] };
    expect(pathValues(doc, ['a', 'b'])).toEqual([1, 2, MISSING]);
    expect(pathValues(doc, ['tags'])).toEqual(['x', 'y']);
    expect(pathValues(doc, ['a', '1', 'b'])).toEqual([2]);
    expect(pathValues(doc, ['empty'])).toEqual([[]]);
    expect(pathValues(doc, ['nope'])).toEqual([MISSING]);
  });

  it('sets dotted paths and puts _id first', () => {
    const doc: Record<string, unknown> = { x: 1 };
    setPath(doc, 'a.b.c', 2);
    expect(doc).toEqual({ x: 1, a: { b: { c: 2 } } });
    expect(Object.keys(withIdFirst({ a: 1, _id: 'k' }, 'k'))).toEqual(['_id', 'a']);
  });

  it('formats duplicate keys as MongoDB prints them', () => {
    expect(formatValue({ email: 'a@b', n: 1 })).toBe('{ email: "a@b", n: 1 }');
    expect(formatValue({ _id: new ObjectId('65a000000000000000000001') })).toBe(
      "{ _id: ObjectId('65a000000000000000000001') }",
    );
    expect(formatValue({ k: null })).toBe('{ k: null }');
  });
});
