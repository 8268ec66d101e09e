import { Binary, ObjectId, type Long } from 'bson';

/** A stored document: what bson's deserialize returns for one BSON document. */
export type Doc = Record<string, unknown>;

/** The BSON type tag bson puts on its value classes (ObjectId, Long, Binary, ...). */
function bsonTypeOf(value: object): string | undefined {
  const tag = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

export function isPlainObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Sets a key even when it is `__proto__`, which a plain assignment would turn into a prototype change. */
function defineKey(target: Doc, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * A copy no caller can use to reach stored state. Plain objects, arrays, dates and
 * binary payloads are copied; the other bson value classes (ObjectId, Long,
 * Decimal128, Timestamp, ...) are immutable in practice and shared.
 */
export function deepCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => deepCopy(item)) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  const tag = bsonTypeOf(value);
  if (tag === 'Binary') {
    const binary = value as unknown as Binary;
    return new Binary(Uint8Array.from(binary.value()), binary.sub_type) as T;
  }
  if (tag !== undefined || value instanceof RegExp) return value;
  if (ArrayBuffer.isView(value)) return Uint8Array.from(value as unknown as Uint8Array) as T;
  const copy: Doc = {};
  for (const key of Object.keys(value)) defineKey(copy, key, deepCopy((value as Doc)[key]));
  return copy as T;
}

const TWO_POW_64 = 2 ** 64;

function numberKey(value: number): string {
  if (Object.is(value, -0)) return 'n0';
  // Beyond 2^53 String() rounds the digits; BigInt prints the exact integer, so a
  // double and a Long holding the same integer get the same key, as MongoDB compares them.
  if (Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < TWO_POW_64) {
    return `n${BigInt(value).toString()}`;
  }
  return `n${String(value)}`;
}

/**
 * The canonical key of a BSON value: two values get the same key exactly when
 * MongoDB's index would treat them as the same key. Numbers compare by value
 * whatever their BSON type (1, 1.0 and Long(1) are one key), strings by their
 * exact code units, embedded documents by their fields in order. Used for the
 * `_id` map and the unique indexes, so `_id` look-ups never scan.
 */
export function canonicalKey(value: unknown): string {
  if (value === null || value === undefined) return 'z';
  switch (typeof value) {
    case 'number':
      return numberKey(value);
    case 'bigint':
      return `n${value.toString()}`;
    case 'string':
      return `s${JSON.stringify(value)}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    case 'object':
      return objectKey(value);
    default:
      return `?${String(value)}`;
  }
}

function objectKey(value: object): string {
  if (Array.isArray(value))
    return `[${value.map((item: unknown) => canonicalKey(item)).join(',')}]`;
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof RegExp) return `r${JSON.stringify(value.source)}/${value.flags}`;
  const tag = bsonTypeOf(value);
  switch (tag) {
    case undefined:
      break;
    case 'ObjectId':
      return `o${(value as ObjectId).toHexString()}`;
    case 'Long': {
      const long = value as Long;
      const asNumber = long.toNumber();
      return Number.isSafeInteger(asNumber) ? numberKey(asNumber) : `n${long.toString()}`;
    }
    case 'Int32':
    case 'Double':
      return numberKey((value as { valueOf(): number }).valueOf());
    case 'Binary': {
      const binary = value as Binary;
      return `x${binary.sub_type}:${Buffer.from(binary.value()).toString('base64')}`;
    }
    case 'MinKey':
      return 'k-';
    case 'MaxKey':
      return 'k+';
    default:
      // Decimal128, Timestamp, BSONRegExp, Code, ...: equal when their text is.
      return `${tag}:${String(value)}`;
  }
  if (ArrayBuffer.isView(value)) {
    return `x0:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`;
  }
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    // BSON has no undefined field: the serializer drops it, so the key must too.
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalKey(item)}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * BSON types the store refuses to keep, because its two ways of comparing
 * values would disagree on them. Unique indexes and `_id` look-ups key a
 * Binary by its subtype and bytes, but mingo (the query matcher) compares it
 * by its text as UTF-8, which ignores the subtype and maps different invalid
 * bytes to the same replacement character: a unique index could accept two
 * values a query finds as one, or the reverse. Decimal128 compares by its
 * text in both ('1.0' is not '1', unlike MongoDB) and orders loosely in
 * sorts and ranges. Refusing them at write time keeps every stored value
 * comparable one way; CloudFlow keeps bytes as base64 and exact decimals as
 * strings.
 */
const REFUSED_BSON_TYPES: Record<string, string> = {
  Binary: 'Binary (and UUID)',
  Decimal128: 'Decimal128',
};

/** The path and type of the first value in `doc` the store refuses to keep, or null. */
export function refusedValue(doc: Doc): { path: string; type: string } | null {
  const visit = (value: unknown, at: string): { path: string; type: string } | null => {
    if (value === null || typeof value !== 'object') return null;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visit(value[i], `${at}.${i}`);
        if (found) return found;
      }
      return null;
    }
    const tag = bsonTypeOf(value);
    if (tag !== undefined) {
      const type = REFUSED_BSON_TYPES[tag];
      return type === undefined ? null : { path: at, type };
    }
    // A Buffer or typed array is stored as a BSON Binary.
    if (ArrayBuffer.isView(value))
      return { path: at, type: REFUSED_BSON_TYPES['Binary'] as string };
    if (!isPlainObject(value)) return null;
    for (const key of Object.keys(value)) {
      const found = visit(value[key], at === '' ? key : `${at}.${key}`);
      if (found) return found;
    }
    return null;
  };
  return visit(doc, '');
}

/** A value as MongoDB's duplicate-key messages print it, e.g. `"a@b"`, `ObjectId('...')`. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value !== 'object') return String(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (Array.isArray(value)) return `[ ${value.map(formatValue).join(', ')} ]`;
  const tag = bsonTypeOf(value);
  if (tag === 'ObjectId') return `ObjectId('${(value as ObjectId).toHexString()}')`;
  if (tag !== undefined) return String(value);
  const entries = Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

/** The `_id` MongoDB would give a document inserted without one. */
export function newObjectId(): ObjectId {
  return new ObjectId();
}

/** A copy of `doc` with `_id` as its first field, as MongoDB stores every document. */
export function withIdFirst(doc: Doc, id: unknown): Doc {
  const out: Doc = { _id: id };
  for (const key of Object.keys(doc)) {
    if (key !== '_id') defineKey(out, key, doc[key]);
  }
  return out;
}

/** Marks a path that is absent, as opposed to present with the value null. */
export const MISSING = Symbol('missing');

/**
 * The values a dotted path reaches in a document, descending into arrays as
 * MongoDB's indexes do: `a.b` over `{ a: [{ b: 1 }, { b: 2 }] }` gives 1 and 2.
 * A terminal array gives its elements (an empty one gives itself, MongoDB's
 * `undefined` key). Absent paths give MISSING.
 */
export function pathValues(value: unknown, path: readonly string[], from = 0): unknown[] {
  if (from === path.length) {
    if (Array.isArray(value)) return value.length === 0 ? [[]] : value;
    return [value];
  }
  const segment = path[from] as string;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(segment) && Number(segment) < value.length) {
      return pathValues(value[Number(segment)], path, from + 1);
    }
    if (value.length === 0) return [MISSING];
    return value.flatMap((item: unknown) =>
      isPlainObject(item) ? pathValues(item, path, from) : [MISSING],
    );
  }
  if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, segment)) {
    return pathValues(value[segment], path, from + 1);
  }
  return [MISSING];
}

/** The value at a dotted path without descending into arrays; undefined when absent. */
export function getPath(doc: Doc, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) {
      current = current[Number(segment)];
    } else if (isPlainObject(current) && Object.prototype.hasOwnProperty.call(current, segment)) {
      current = current[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

/** Sets a dotted path in a plain document, creating the embedded documents on the way. */
export function setPath(doc: Doc, path: string, value: unknown): void {
  const segments = path.split('.');
  let current = doc;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (isPlainObject(next)) {
      current = next;
    } else {
      const created: Doc = {};
      defineKey(current, segment, created);
      current = created;
    }
  }
  defineKey(current, segments[segments.length - 1] as string, value);
}
