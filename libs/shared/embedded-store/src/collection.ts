import { ObjectId } from 'bson';
import type { StoreError } from './errors';
import { ID_INDEX, ID_INDEX_NAME, UniqueIndex, duplicateKeyError, type IndexSpec } from './indexes';
import { canonicalKey, deepCopy, isPlainObject, type Doc } from './values';

/**
 * One collection in memory: documents by the canonical key of their `_id`
 * (a Map, so natural order is insertion order), the index specs, and the
 * key maps of the unique ones. Stored documents are never changed in place:
 * an update stores a new object, so a cursor holding the old one keeps a
 * consistent snapshot and nothing outside can reach stored state.
 */
export class Collection {
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, IndexSpec>([[ID_INDEX_NAME, ID_INDEX]]);
  private readonly unique = new Map<string, UniqueIndex>();

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Doc = {},
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  /** Stores `doc` (new or replacing the one with its `_id`), keeping the unique indexes in step. */
  put(doc: Doc): void {
    const idKey = canonicalKey(doc['_id']);
    const old = this.docs.get(idKey);
    if (old) for (const index of this.unique.values()) index.remove(old, idKey);
    this.docs.set(idKey, doc);
    for (const index of this.unique.values()) index.add(doc, idKey);
  }

  remove(id: unknown): Doc | undefined {
    const idKey = canonicalKey(id);
    const old = this.docs.get(idKey);
    if (!old) return undefined;
    for (const index of this.unique.values()) index.remove(old, idKey);
    this.docs.delete(idKey);
    return old;
  }

  /**
   * The duplicate key error storing `doc` would cause, or null. `isNew` checks
   * the `_id` too (an insert); an update keeps its `_id`, so only the other
   * unique indexes can refuse it.
   */
  duplicateOf(doc: Doc, isNew: boolean): StoreError | null {
    const idKey = canonicalKey(doc['_id']);
    if (isNew && this.docs.has(idKey)) {
      return duplicateKeyError(this.ns, ID_INDEX, { _id: doc['_id'] });
    }
    for (const index of this.unique.values()) {
      const conflict = index.conflictOf(doc, idKey);
      if (conflict) return duplicateKeyError(this.ns, index.spec, conflict.value);
    }
    return null;
  }

  /** Adds an index; a unique one is built first and refused (11000) over duplicate data. */
  addIndex(spec: IndexSpec): void {
    if (spec.name === ID_INDEX_NAME) return;
    if (spec['unique'] === true) {
      const index = new UniqueIndex(spec);
      for (const [idKey, doc] of this.docs) {
        const conflict = index.conflictOf(doc, idKey);
        if (conflict) throw duplicateKeyError(this.ns, spec, conflict.value);
        index.add(doc, idKey);
      }
      this.unique.set(spec.name, index);
    }
    this.indexes.set(spec.name, spec);
  }

  removeIndex(name: string): boolean {
    this.unique.delete(name);
    return this.indexes.delete(name);
  }

  /**
   * The documents that can match `filter`, without a scan when the filter
   * pins `_id` (or a field with a plain unique index) to values by equality
   * or `$in`; every document otherwise. The caller still tests each one.
   */
  candidates(filter: Doc): Iterable<Doc> {
    const ids = pinnedValues(filter, '_id');
    if (ids) return this.byIdKeys(ids.map((id) => canonicalKey(id)));
    for (const index of this.unique.values()) {
      const field = index.field;
      const values = field === undefined ? null : pinnedValues(filter, field);
      if (!values) continue;
      const idKeys: string[] = [];
      let answered = true;
      for (const value of values) {
        const holder = index.holderOf(value);
        if (holder === undefined) {
          answered = false;
          break;
        }
        if (holder !== null) idKeys.push(holder);
      }
      if (answered) return this.byIdKeys(idKeys);
    }
    return this.docs.values();
  }

  private byIdKeys(idKeys: string[]): Doc[] {
    const seen = new Set<string>();
    const found: Doc[] = [];
    for (const idKey of idKeys) {
      const doc = seen.has(idKey) ? undefined : this.docs.get(idKey);
      seen.add(idKey);
      if (doc) found.push(doc);
    }
    return found;
  }

  /** Index specs as listIndexes returns them. */
  listIndexes(): IndexSpec[] {
    return [...this.indexes.values()].map((spec) => deepCopy(spec));
  }
}

/** Values an index look-up can find exactly: no null, arrays, documents or regexes. */
function isExactKeyValue(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value instanceof Date ||
    value instanceof ObjectId
  );
}

/**
 * The values `filter` requires `field` to equal (`field: v`, `{ $eq: v }`,
 * `{ $in: [...] }`, also inside a top-level `$and`), or null when it does not
 * pin the field to a known list of exact values.
 */
function pinnedValues(filter: Doc, field: string): unknown[] | null {
  if (Object.prototype.hasOwnProperty.call(filter, field)) {
    const condition = filter[field];
    if (isExactKeyValue(condition)) return [condition];
    if (isPlainObject(condition)) {
      const keys = Object.keys(condition);
      if (keys.length > 0 && keys.every((key) => key.startsWith('$'))) {
        if ('$eq' in condition && isExactKeyValue(condition['$eq'])) return [condition['$eq']];
        const list = condition['$in'];
        if (Array.isArray(list) && list.every(isExactKeyValue)) return list;
      }
    }
  }
  const clauses = filter['$and'];
  if (Array.isArray(clauses)) {
    for (const clause of clauses) {
      const values = isPlainObject(clause) ? pinnedValues(clause, field) : null;
      if (values) return values;
    }
  }
  return null;
}
