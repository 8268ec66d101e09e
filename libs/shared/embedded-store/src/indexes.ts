import { Query } from 'mingo';
import { StoreError, badValue } from './errors';
import { MISSING, canonicalKey, deepCopy, formatValue, isPlainObject, pathValues } from './values';
import type { Doc } from './values';

/** An index as listIndexes shows it: `{ v, key, name, ...options }`. */
export interface IndexSpec extends Doc {
  v: number;
  key: Doc;
  name: string;
}

export const ID_INDEX_NAME = '_id_';
export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: ID_INDEX_NAME };

/** Index kinds whose queries ($text, $near, ...) the store cannot answer, so it refuses the index. */
const UNSUPPORTED_KINDS = new Set(['text', '2d', '2dsphere', 'geoHaystack']);

/** MongoDB's default index name: `field_direction` pairs joined by `_`. */
export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join('_');
}

/** Checks one createIndexes entry and returns it as it will be stored and listed. */
export function normalizeIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw)) throw badValue('each index specification must be a document');
  const key = raw['key'];
  if (!isPlainObject(key) || Object.keys(key).length === 0) {
    throw badValue("index specification needs a non-empty 'key' document");
  }
  for (const [field, direction] of Object.entries(key)) {
    if (field === '' || field.startsWith('$') || field.includes('$**')) {
      throw badValue(`index key field '${field}' is not supported by the embedded store`);
    }
    if (typeof direction === 'string' && UNSUPPORTED_KINDS.has(direction)) {
      throw new StoreError(
        'CommandNotSupported',
        `'${direction}' indexes are not supported by the embedded store`,
      );
    }
    if (typeof direction !== 'number' && direction !== 'hashed') {
      throw badValue(`index key '${field}' must be 1, -1 or 'hashed'`);
    }
  }
  const name = raw['name'] ?? defaultIndexName(key);
  if (typeof name !== 'string' || name === '') throw badValue('index name must be a string');
  const partial = raw['partialFilterExpression'];
  if (partial !== undefined && !isPlainObject(partial)) {
    throw badValue('partialFilterExpression must be a document');
  }
  const collation = raw['collation'];
  if (collation !== undefined && !(isPlainObject(collation) && collation['locale'] === 'simple')) {
    // Keys are compared byte for byte; a unique index under another collation would be weaker.
    throw new StoreError(
      'CommandNotSupported',
      'index collations are not supported by the embedded store',
    );
  }
  if (raw['expireAfterSeconds'] !== undefined) {
    // Accepting it would promise expiry the store does not do.
    throw new StoreError(
      'CommandNotSupported',
      'TTL indexes (expireAfterSeconds) are not supported by the embedded store',
    );
  }
  const spec: IndexSpec = { v: 2, key: deepCopy(key), name };
  for (const [option, value] of Object.entries(raw)) {
    // `ns` is from old servers; v, key and name are set above.
    if (!['v', 'key', 'name', 'ns'].includes(option) && value !== undefined) {
      spec[option] = deepCopy(value);
    }
  }
  return spec;
}

/** Whether two specs with the same key describe the same index (build options aside). */
export function sameIndexOptions(a: IndexSpec, b: IndexSpec): boolean {
  const options = (spec: IndexSpec): string =>
    canonicalKey({
      unique: spec['unique'] === true,
      sparse: spec['sparse'] === true,
      partialFilterExpression: spec['partialFilterExpression'] ?? null,
      expireAfterSeconds: spec['expireAfterSeconds'] ?? null,
      collation: spec['collation'] ?? null,
    });
  return options(a) === options(b);
}

export function sameKey(a: IndexSpec, b: IndexSpec): boolean {
  return canonicalKey(a.key) === canonicalKey(b.key);
}

/** One key a document puts in an index, with the values MongoDB reports in a duplicate-key error. */
export interface IndexKey {
  key: string;
  value: Doc;
}

/**
 * A unique index: its keys mapped to the `_id` key of the document holding
 * each. Computes keys as MongoDB does: a missing field is null, an array field
 * puts one key per element (a multikey index), a sparse index skips documents
 * without any of its fields, a partial index skips documents its filter does
 * not match.
 */
export class UniqueIndex {
  private readonly entries = new Map<string, string>();
  private readonly fields: string[];
  private readonly paths: string[][];
  private readonly sparse: boolean;
  private readonly partial: Query | null;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.paths = this.fields.map((field) => field.split('.'));
    this.sparse = spec['sparse'] === true;
    const filter = spec['partialFilterExpression'];
    this.partial = isPlainObject(filter)
      ? new Query(filter as ConstructorParameters<typeof Query>[0], { scriptEnabled: false })
      : null;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The keys `doc` puts in this index (none when the index skips it). */
  keysOf(doc: Doc): IndexKey[] {
    if (this.partial && !this.partial.test(doc)) return [];
    const perField = this.paths.map((path) => pathValues(doc, path));
    if (this.sparse && perField.every((values) => values.every((v) => v === MISSING))) return [];
    if (perField.filter((values) => values.length > 1).length > 1) {
      throw new StoreError(
        'BadValue',
        `cannot index parallel arrays [${this.fields.join('] [')}] in index ${this.name}`,
      );
    }
    let combos: unknown[][] = [[]];
    for (const values of perField) {
      combos = combos.flatMap((prefix) =>
        values.map((value) => [...prefix, value === MISSING ? null : value]),
      );
    }
    const keys = new Map<string, IndexKey>();
    for (const combo of combos) {
      const key = canonicalKey(combo);
      if (!keys.has(key)) {
        const value: Doc = {};
        this.fields.forEach((field, i) => (value[field] = combo[i]));
        keys.set(key, { key, value });
      }
    }
    return [...keys.values()];
  }

  /** The first key of `doc` that another document already holds. */
  conflictOf(doc: Doc, idKey: string): IndexKey | null {
    for (const key of this.keysOf(doc)) {
      const holder = this.entries.get(key.key);
      if (holder !== undefined && holder !== idKey) return key;
    }
    return null;
  }

  add(doc: Doc, idKey: string): void {
    for (const { key } of this.keysOf(doc)) this.entries.set(key, idKey);
  }

  remove(doc: Doc, idKey: string): void {
    for (const { key } of this.keysOf(doc)) {
      if (this.entries.get(key) === idKey) this.entries.delete(key);
    }
  }

  /**
   * The `_id` key of the document whose single field equals `value`, for
   * look-ups that need not scan; undefined when this index cannot answer
   * (compound, sparse or partial: some matching documents may not be in it).
   */
  holderOf(value: unknown): string | null | undefined {
    if (this.fields.length !== 1 || this.sparse || this.partial) return undefined;
    return this.entries.get(canonicalKey([value])) ?? null;
  }

  get field(): string | undefined {
    return this.fields.length === 1 ? this.fields[0] : undefined;
  }
}

/** MongoDB's duplicate key error, as the driver and CloudFlow's code read it. */
export function duplicateKeyError(ns: string, spec: IndexSpec, keyValue: Doc): StoreError {
  return new StoreError(
    'DuplicateKey',
    `E11000 duplicate key error collection: ${ns} index: ${spec.name} dup key: ${formatValue(keyValue)}`,
    { keyPattern: deepCopy(spec.key), keyValue: deepCopy(keyValue) },
  );
}
