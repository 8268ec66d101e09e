import { ObjectId } from 'bson';
import type { StoreError } from './errors';
import { ID_INDEX, ID_INDEX_NAME, UniqueIndex, duplicateKeyError, type IndexSpec } from './indexes';
import { canonicalKey, deepCopy, isPlainObject, type Doc } from './values';

/**
 * Equality look-ups on a top-level field that a declared index leads with:
 * the canonical key of each exact value (string, number, boolean, date,
 * ObjectId; each element of an array) mapped to the `_id` keys of the
 * documents holding it. Only narrows candidates: the query still tests each
 * one, so it may hold more than matches, never fewer. Top-level fields only,
 * because mingo matches dotted paths through nested arrays more loosely than
 * the index would key them, and results must not change with an index.
 */
class FieldIndex {
  readonly entries = new Map<string, Set<string>>();
  /** How many declared indexes lead with this field. */
  users = 1;

  constructor(readonly field: string) {}

  private keysOf(doc: Doc): string[] {
    if (!Object.prototype.hasOwnProperty.call(doc, this.field)) return [];
    const value = doc[this.field];
    const values = Array.isArray(value) ? value : [value];
    return [...new Set(values.filter(isExactKeyValue).map((item) => canonicalKey(item)))];
  }

  add(doc: Doc, idKey: string): void {
    for (const key of this.keysOf(doc)) {
      let holders = this.entries.get(key);
      if (!holders) {
        holders = new Set();
        this.entries.set(key, holders);
      }
      holders.add(idKey);
    }
  }

  remove(doc: Doc, idKey: string): void {
    for (const key of this.keysOf(doc)) {
      const holders = this.entries.get(key);
      holders?.delete(idKey);
      if (holders?.size === 0) this.entries.delete(key);
    }
  }
}

/** The field a FieldIndex can serve for `spec`, or undefined. */
function leadingField(spec: IndexSpec): string | undefined {
  // Sparse and partial indexes leave documents out, so they are not used for look-ups,
  // as MongoDB would not use them for a query they cannot fully answer.
  if (spec['sparse'] === true || spec['partialFilterExpression'] !== undefined) return undefined;
  const field = Object.keys(spec.key)[0];
  if (field === undefined || field === '_id' || field.includes('.')) return undefined;
  return field;
}

/**
 * One collection in memory: documents by the canonical key of their `_id`
 * (a Map, so natural order is insertion order), the index specs, the key maps
 * of the unique ones and the look-up maps of the fields indexes lead with. Stored documents are never changed in place:
 * an update stores a new object, so a cursor holding the old one keeps a
 * consistent snapshot and nothing outside can reach stored state.
 */
export class Collection {
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, IndexSpec>([[ID_INDEX_NAME, ID_INDEX]]);
  private readonly unique = new Map<string, UniqueIndex>();
  private readonly byField = new Map<string, FieldIndex>();
  /** Each document's place in natural order, to put index look-ups back in that order. */
  private readonly order = new Map<string, number>();
  private nextOrder = 0;

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
    if (old) {
      for (const index of this.unique.values()) index.remove(old, idKey);
      for (const index of this.byField.values()) index.remove(old, idKey);
    } else {
      // A replaced document keeps its place (Map.set on an existing key), a new one goes last.
      this.order.set(idKey, this.nextOrder++);
    }
    this.docs.set(idKey, doc);
    for (const index of this.unique.values()) index.add(doc, idKey);
    for (const index of this.byField.values()) index.add(doc, idKey);
  }

  remove(id: unknown): Doc | undefined {
    const idKey = canonicalKey(id);
    const old = this.docs.get(idKey);
    if (!old) return undefined;
    for (const index of this.unique.values()) index.remove(old, idKey);
    for (const index of this.byField.values()) index.remove(old, idKey);
    this.docs.delete(idKey);
    this.order.delete(idKey);
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
    if (!this.indexes.has(spec.name)) this.useField(leadingField(spec));
    this.indexes.set(spec.name, spec);
  }

  removeIndex(name: string): boolean {
    this.unique.delete(name);
    const spec = this.indexes.get(name);
    const field = spec && leadingField(spec);
    const index = field === undefined ? undefined : this.byField.get(field);
    if (index && --index.users === 0) this.byField.delete(index.field);
    return this.indexes.delete(name);
  }

  /** Starts (or shares) the look-up map of `field`, built from the documents held. */
  private useField(field: string | undefined): void {
    if (field === undefined) return;
    const existing = this.byField.get(field);
    if (existing) {
      existing.users += 1;
      return;
    }
    const index = new FieldIndex(field);
    for (const [idKey, doc] of this.docs) index.add(doc, idKey);
    this.byField.set(field, index);
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
    return this.byFieldIndex(filter) ?? this.docs.values();
  }

  /**
   * The documents an equality on an indexed top-level field narrows `filter`
   * to, in natural order (so results are those of a scan), or null when no
   * index applies or it would keep most documents anyway (then a scan, which
   * needs no sorting back into order, is as quick).
   */
  private byFieldIndex(filter: Doc): Doc[] | null {
    let best: Set<string>[] | null = null;
    let bestSize = Infinity;
    for (const index of this.byField.values()) {
      const values = pinnedValues(filter, index.field);
      if (!values) continue;
      const holders: Set<string>[] = [];
      let size = 0;
      for (const key of new Set(values.map((value) => canonicalKey(value)))) {
        const found = index.entries.get(key);
        if (found) {
          holders.push(found);
          size += found.size;
        }
      }
      if (size < bestSize) {
        best = holders;
        bestSize = size;
      }
    }
    if (!best || bestSize * 2 > this.docs.size) return null;
    const idKeys =
      best.length === 1 ? (best[0] as Set<string>) : new Set(best.flatMap((s) => [...s]));
    const placed: [number, Doc][] = [];
    for (const idKey of idKeys) {
      const doc = this.docs.get(idKey);
      if (doc) placed.push([this.order.get(idKey) ?? 0, doc]);
    }
    placed.sort((a, b) => a[0] - b[0]);
    return placed.map(([, doc]) => doc);
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
