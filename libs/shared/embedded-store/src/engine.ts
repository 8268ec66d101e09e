import * as path from 'node:path';
import { ObjectId, calculateObjectSize } from 'bson';
import { Aggregator, Query, update as applyUpdateOperators, updateOne } from 'mingo';
import { Collection } from './collection';
import { StoreError, asStoreError, badValue } from './errors';
import {
  ID_INDEX,
  ID_INDEX_NAME,
  normalizeIndexSpec,
  sameIndexOptions,
  sameKey,
  type IndexSpec,
} from './indexes';
import {
  BSON_WRITE_OPTIONS,
  JOURNAL_FILE,
  JournalWriter,
  putRecordBytes,
  removeStaleSnapshot,
  replayJournal,
  writeSnapshot,
  type JournalRecord,
} from './journal';
import {
  MISSING,
  canonicalKey,
  deepCopy,
  isPlainObject,
  pathValues,
  refusedValue,
  setPath,
  withIdFirst,
  type Doc,
} from './values';

/**
 * The storage engine: databases of collections in memory, every change
 * journaled before it is acknowledged.
 *
 * Atomicity: every public method runs synchronously from start to end — no
 * await between reading the state and changing it — and Node runs one at a
 * time, so each command sees and leaves a consistent state. That is what
 * makes an insert with a taken `_id` or unique key fail for exactly one of
 * two racing clients, and findAndModify and upserts atomic; CloudFlow's
 * repositories (unique-insert leases, rate-limit slots, commit slots) rely
 * on it. A command's journal records are written in one append at its end,
 * before its reply.
 *
 * Matching, sorting, projection, update operators and aggregation are
 * mingo's; the store adds indexes, upserts and the MongoDB command semantics.
 */

export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
const COMPACT_DEAD_BYTES = 64 * 1024 * 1024;

/** When the journal is compacted while the store runs; see StoreEngine.open. */
export interface CompactionOptions {
  /** Compact once the journal is over this many times the live data. Default 2. */
  ratio?: number;
  /** ...and holds over this many bytes of dead records. Default 16 MiB. */
  minDeadBytes?: number;
}

const DEFAULT_COMPACTION = { ratio: 2, minDeadBytes: 16 * 1024 * 1024 } as const;

/** Online compactions, for logs and tests. */
export interface CompactionStats {
  /** Compactions done while running (not counting the one at open). */
  compactions: number;
  /** Snapshots that could not be written (the old journal was kept). */
  failures: number;
}

/** Queries from the wire never run code ($where, $function, $accumulator). */
const MINGO_OPTIONS = { scriptEnabled: false } as const;

type MingoCriteria = ConstructorParameters<typeof Query>[0];
type MingoPipelineUpdate = Extract<Parameters<typeof updateOne>[2], unknown[]>;
type MingoModifier = Exclude<Parameters<typeof updateOne>[2], unknown[]>;

export interface FindOptions {
  filter?: Doc;
  sort?: Doc;
  projection?: Doc;
  skip?: number;
  /** 0: no limit. */
  limit?: number;
}

export interface UpdateStatement {
  q: Doc;
  /** A replacement document, an operator document or an aggregation pipeline. */
  u: Doc | Doc[];
  upsert?: boolean;
  multi?: boolean;
  arrayFilters?: Doc[];
}

export interface DeleteStatement {
  q: Doc;
  /** 1: the first match only; 0: every match. */
  limit: number;
}

export interface WriteError extends Doc {
  index: number;
  code: number;
  errmsg: string;
}

export interface InsertResult {
  n: number;
  writeErrors: WriteError[];
}

export interface UpdateResult {
  n: number;
  nModified: number;
  upserted: { index: number; _id: unknown }[];
  writeErrors: WriteError[];
}

export interface DeleteResult {
  n: number;
  writeErrors: WriteError[];
}

export interface FindAndModifyOptions {
  query?: Doc;
  sort?: Doc;
  remove?: boolean;
  update?: Doc | Doc[];
  /** Return the document after the update (the command's `new`). */
  returnNew?: boolean;
  upsert?: boolean;
  fields?: Doc;
  arrayFilters?: Doc[];
}

export interface FindAndModifyResult {
  lastErrorObject: Doc;
  value: Doc | null;
}

export interface CreateIndexesResult {
  createdCollectionAutomatically: boolean;
  numIndexesBefore: number;
  numIndexesAfter: number;
  note?: string;
}

/** What opening found, for logs and tests. */
export interface OpenReport {
  records: number;
  truncatedBytes: number;
  compacted: boolean;
  journalBytes: number;
}

const DB_NAME_FORBIDDEN = /[/\\. "$*<>:|?\0]/;

function checkDbName(db: string): void {
  if (db === '' || db.length > 63 || DB_NAME_FORBIDDEN.test(db)) {
    throw new StoreError('InvalidNamespace', `Invalid database name: '${db}'`);
  }
}

function checkCollectionName(db: string, coll: string): void {
  if (coll === '' || coll.includes('$') || coll.includes('\0') || coll.startsWith('.')) {
    throw new StoreError('InvalidNamespace', `Invalid collection name: '${db}.${coll}'`);
  }
  if (coll.startsWith('system.')) {
    throw new StoreError('InvalidNamespace', `Invalid system namespace: ${db}.${coll}`);
  }
}

/** Whether `u` is an operator document (`$set`, ...) rather than a replacement. */
function isOperatorUpdate(u: Doc): boolean {
  const keys = Object.keys(u);
  const operators = keys.filter((key) => key.startsWith('$')).length;
  if (operators > 0 && operators < keys.length) {
    throw new StoreError(
      'FailedToParse',
      'an update document must be all operators ($set, ...) or a replacement without any',
    );
  }
  return operators > 0;
}

/** Checks a sort spec and says whether it asks for reverse natural order. */
function readSort(sort: Doc | undefined): { spec: Doc | null; reverse: boolean } {
  if (!sort || Object.keys(sort).length === 0) return { spec: null, reverse: false };
  const spec: Doc = {};
  let reverse = false;
  for (const [field, direction] of Object.entries(sort)) {
    if (field === '$natural') {
      reverse = direction === -1;
      continue;
    }
    if (direction !== 1 && direction !== -1) {
      throw badValue(`sort direction for '${field}' must be 1 or -1`);
    }
    spec[field] = direction;
  }
  return { spec: Object.keys(spec).length > 0 ? spec : null, reverse };
}

/**
 * The fields an upsert's new document starts with: the query's equality
 * conditions (`a: v`, `'a.b': v`, `{ $eq: v }`, also inside a top-level `$and`).
 */
function equalityFields(filter: Doc, into: Doc = {}): Doc {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const clause of value) if (isPlainObject(clause)) equalityFields(clause, into);
      continue;
    }
    if (key.startsWith('$') || value instanceof RegExp) continue;
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      if ('$eq' in value) setPath(into, key, deepCopy(value['$eq']));
      continue;
    }
    setPath(into, key, deepCopy(value));
  }
  return into;
}

function compileQuery(filter: Doc): Query {
  return new Query(filter as MingoCriteria, MINGO_OPTIONS);
}

function project(doc: Doc, projection: Doc | undefined): Doc {
  if (!projection || Object.keys(projection).length === 0) return deepCopy(doc);
  const [shaped] = compileQuery({})
    .find<Doc>([doc], projection as never)
    .all();
  return deepCopy(shaped ?? {});
}

export class StoreEngine {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private staged: JournalRecord[] = [];
  private writer: JournalWriter | null = null;
  private closed = false;
  private report: OpenReport = { records: 0, truncatedBytes: 0, compacted: false, journalBytes: 0 };
  /**
   * Bytes a snapshot of the live state would take, kept up to date by every
   * put and delete so deciding whether to compact costs nothing per command.
   */
  private live = 0;
  /** Set by the rare changes not counted one by one (collections, indexes, drops). */
  private liveStale = false;
  /** After a failed compaction, the journal size at which to try again. */
  private retryCompactionAt = 0;
  private readonly stats: CompactionStats = { compactions: 0, failures: 0 };

  private constructor(
    /** The journal file, for messages about it. */
    readonly journalFile: string,
    private readonly compaction: Required<CompactionOptions>,
  ) {}

  /**
   * Opens the store kept in `dir`: replays the journal, compacts it when it
   * holds more than twice the live data (or 64 MiB of dead records), then
   * appends to it. The caller holds the directory's lock.
   *
   * While running, the journal is compacted again after a write once it is
   * over `compaction.ratio` times the live data and holds over
   * `compaction.minDeadBytes` of dead records: rate-limit slots and leases
   * are written and deleted on every request, so without it a long-running
   * store's journal (and its next start) would grow without bound.
   */
  static open(dir: string, compaction: CompactionOptions = {}): StoreEngine {
    const file = path.join(dir, JOURNAL_FILE);
    const engine = new StoreEngine(file, { ...DEFAULT_COMPACTION, ...compaction });
    removeStaleSnapshot(file);
    const replay = replayJournal(file, (record) => engine.apply(record));
    let journalBytes = replay.bytes;
    const live = engine.liveBytes();
    const compacted = journalBytes > 2 * live || journalBytes - live > COMPACT_DEAD_BYTES;
    if (compacted) journalBytes = writeSnapshot(file, engine.snapshot());
    engine.live = live;
    engine.report = {
      records: replay.records,
      truncatedBytes: replay.truncatedBytes,
      compacted,
      journalBytes,
    };
    engine.writer = new JournalWriter(file);
    return engine;
  }

  get openReport(): OpenReport {
    return { ...this.report };
  }

  get compactionStats(): CompactionStats {
    return { ...this.stats };
  }

  /**
   * Throws the reason the store cannot serve commands (closed, or its journal
   * failed), so a health check fails while every command would.
   */
  assertUsable(): void {
    if (this.closed) throw new StoreError('InternalError', 'the embedded store is closed');
    const failure = this.writer?.failed;
    if (failure) throw new StoreError('InternalError', failure.message);
  }

  /** Flushes and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer?.close();
  }

  // ---- writes ----------------------------------------------------------

  insert(db: string, coll: string, docs: readonly unknown[], ordered = true): InsertResult {
    return this.write(() => {
      const collection = this.collectionForWrite(db, coll);
      const writeErrors: WriteError[] = [];
      let n = 0;
      for (let index = 0; index < docs.length; index++) {
        try {
          const raw = docs[index];
          if (!isPlainObject(raw)) throw badValue('each document to insert must be a document');
          const copy = deepCopy(raw);
          const doc = withIdFirst(copy, copy['_id'] === undefined ? new ObjectId() : copy['_id']);
          this.store(collection, doc, true);
          n++;
        } catch (error) {
          writeErrors.push(writeError(index, error));
          if (ordered) break;
        }
      }
      return { n, writeErrors };
    });
  }

  update(
    db: string,
    coll: string,
    statements: readonly UpdateStatement[],
    ordered = true,
  ): UpdateResult {
    return this.write(() => {
      const result: UpdateResult = { n: 0, nModified: 0, upserted: [], writeErrors: [] };
      for (let index = 0; index < statements.length; index++) {
        const statement = statements[index] as UpdateStatement;
        try {
          const collection = statement.upsert
            ? this.collectionForWrite(db, coll)
            : this.existing(db, coll);
          if (!collection) continue;
          const outcome = this.updateIn(collection, statement);
          result.n += outcome.matched;
          result.nModified += outcome.modified;
          if (outcome.upserted) {
            result.n += 1;
            result.upserted.push({ index, _id: deepCopy(outcome.upserted['_id']) });
          }
        } catch (error) {
          result.writeErrors.push(writeError(index, error));
          if (ordered) break;
        }
      }
      return result;
    });
  }

  delete(
    db: string,
    coll: string,
    statements: readonly DeleteStatement[],
    ordered = true,
  ): DeleteResult {
    return this.write(() => {
      const collection = this.existing(db, coll);
      const result: DeleteResult = { n: 0, writeErrors: [] };
      for (let index = 0; index < statements.length; index++) {
        const statement = statements[index] as DeleteStatement;
        try {
          if (!collection) continue;
          for (const doc of this.matching(collection, statement.q, statement.limit === 1 ? 1 : 0)) {
            this.unstore(collection, doc);
            result.n++;
          }
        } catch (error) {
          result.writeErrors.push(writeError(index, error));
          if (ordered) break;
        }
      }
      return result;
    });
  }

  findAndModify(db: string, coll: string, options: FindAndModifyOptions): FindAndModifyResult {
    return this.write(() => {
      const { remove = false, update, upsert = false, returnNew = false } = options;
      if (remove === (update !== undefined)) {
        throw new StoreError('FailedToParse', 'specify exactly one of an update or remove=true');
      }
      if (remove && (upsert || returnNew)) {
        throw new StoreError('FailedToParse', 'remove=true cannot be combined with upsert or new');
      }
      const collection = upsert ? this.collectionForWrite(db, coll) : this.existing(db, coll);
      const [target] = collection
        ? this.sorted(
            this.matching(collection, options.query ?? {}, options.sort ? 0 : 1),
            options.sort,
          )
        : [];
      if (remove) {
        if (!collection || !target) return { lastErrorObject: { n: 0 }, value: null };
        this.unstore(collection, target);
        return { lastErrorObject: { n: 1 }, value: project(target, options.fields) };
      }
      if (!collection) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
      const change = update as Doc | Doc[];
      if (target) {
        const next = this.replaceWithUpdate(collection, target, change, options.arrayFilters);
        return {
          lastErrorObject: { n: 1, updatedExisting: true },
          value: project(returnNew ? (next ?? target) : target, options.fields),
        };
      }
      if (!upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
      const created = this.upsert(collection, options.query ?? {}, change, options.arrayFilters);
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: deepCopy(created['_id']) },
        value: returnNew ? project(created, options.fields) : null,
      };
    });
  }

  // ---- reads -----------------------------------------------------------

  find(db: string, coll: string, options: FindOptions = {}): Doc[] {
    this.assertUsable();
    const collection = this.existing(db, coll);
    if (!collection) return [];
    const filter = options.filter ?? {};
    const { spec, reverse } = readSort(options.sort);
    const candidates = Array.from(collection.candidates(filter));
    if (reverse) candidates.reverse();
    const projection = options.projection && Object.keys(options.projection).length > 0;
    let cursor = compileQuery(filter).find<Doc>(
      candidates,
      projection ? (options.projection as never) : undefined,
    );
    if (spec) cursor = cursor.sort(spec as never);
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit) cursor = cursor.limit(options.limit);
    return cursor.all().map((doc) => deepCopy(doc));
  }

  count(db: string, coll: string, query: Doc = {}, skip = 0, limit = 0): number {
    this.assertUsable();
    const collection = this.existing(db, coll);
    if (!collection) return 0;
    const total =
      Object.keys(query).length === 0
        ? collection.docs.size
        : this.matching(collection, query, 0).length;
    const afterSkip = Math.max(0, total - skip);
    return limit > 0 ? Math.min(afterSkip, limit) : afterSkip;
  }

  distinct(db: string, coll: string, key: string, query: Doc = {}): unknown[] {
    this.assertUsable();
    const collection = this.existing(db, coll);
    if (!collection) return [];
    const seen = new Map<string, unknown>();
    const fieldPath = key.split('.');
    for (const doc of this.matching(collection, query, 0)) {
      for (const value of pathValues(doc, fieldPath)) {
        if (value === MISSING || (Array.isArray(value) && value.length === 0)) continue;
        const valueKey = canonicalKey(value);
        if (!seen.has(valueKey)) seen.set(valueKey, deepCopy(value));
      }
    }
    return [...seen.values()];
  }

  aggregate(db: string, coll: string, pipeline: readonly Doc[]): Doc[] {
    this.assertUsable();
    for (const stage of pipeline) {
      const name = Object.keys(stage)[0];
      if (name === '$out' || name === '$merge') {
        throw new StoreError(
          'CommandNotSupported',
          `${name} is not supported by the embedded store; write with insert or update instead`,
        );
      }
    }
    const collection = this.existing(db, coll);
    const first = pipeline[0]?.['$match'];
    const input = collection
      ? Array.from(collection.candidates(isPlainObject(first) ? first : {}), (doc) => deepCopy(doc))
      : [];
    // mingo may change its input documents in place ($set of a nested path), hence the copies.
    const aggregator = new Aggregator([...pipeline], {
      ...MINGO_OPTIONS,
      collectionResolver: (name: string) =>
        Array.from(this.existing(db, name)?.docs.values() ?? [], (doc) => deepCopy(doc)),
    });
    return aggregator.run(input) as Doc[];
  }

  // ---- collections, indexes, databases ---------------------------------

  createCollection(db: string, coll: string, options: Doc = {}): void {
    this.write(() => {
      checkDbName(db);
      checkCollectionName(db, coll);
      if (this.existing(db, coll)) {
        throw new StoreError('NamespaceExists', `Collection ${db}.${coll} already exists.`);
      }
      for (const option of ['capped', 'timeseries', 'validator', 'viewOn', 'clusteredIndex']) {
        if (options[option] !== undefined && options[option] !== false) {
          throw new StoreError(
            'CommandNotSupported',
            `collection option '${option}' is not supported by the embedded store`,
          );
        }
      }
      this.addCollection(db, coll, deepCopy(options));
    });
  }

  /** Drops a collection; the number of indexes it had. */
  dropCollection(db: string, coll: string): number {
    return this.write(() => {
      const collection = this.existing(db, coll);
      if (!collection) throw new StoreError('NamespaceNotFound', 'ns not found');
      this.removeCollection(db, coll);
      this.stage({ op: 'dropCollection', db, coll });
      return collection.indexes.size;
    });
  }

  dropDatabase(db: string): void {
    this.write(() => {
      if (!this.dbs.delete(db)) return;
      this.stage({ op: 'dropDatabase', db });
    });
  }

  createIndexes(db: string, coll: string, rawSpecs: readonly unknown[]): CreateIndexesResult {
    return this.write(() => {
      if (rawSpecs.length === 0) throw badValue('createIndexes needs at least one index');
      const specs = rawSpecs.map(normalizeIndexSpec);
      const createdCollectionAutomatically = !this.existing(db, coll);
      const collection = this.collectionForWrite(db, coll);
      const before = collection.indexes.size;
      const added: IndexSpec[] = [];
      try {
        for (const spec of specs) {
          if (this.sameIndexExists(collection, spec)) continue;
          collection.addIndex(spec);
          added.push(spec);
        }
      } catch (error) {
        // All or nothing, as MongoDB builds the indexes of one command.
        for (const spec of added) collection.removeIndex(spec.name);
        throw error;
      }
      for (const spec of added) this.stage({ op: 'createIndex', db, coll, spec });
      return {
        createdCollectionAutomatically,
        numIndexesBefore: before,
        numIndexesAfter: collection.indexes.size,
        ...(added.length === 0 && { note: 'all indexes already exist' }),
      };
    });
  }

  listIndexes(db: string, coll: string): IndexSpec[] {
    this.assertUsable();
    const collection = this.existing(db, coll);
    if (!collection) throw new StoreError('NamespaceNotFound', `ns does not exist: ${db}.${coll}`);
    return collection.listIndexes();
  }

  /** Drops indexes by name, key pattern, list of names or '*' (all but `_id_`); how many there were. */
  dropIndexes(db: string, coll: string, which: unknown): number {
    return this.write(() => {
      const collection = this.existing(db, coll);
      if (!collection) {
        throw new StoreError('NamespaceNotFound', `ns not found ${db}.${coll}`);
      }
      const before = collection.indexes.size;
      let names: string[];
      if (which === '*') {
        names = [...collection.indexes.keys()].filter((name) => name !== ID_INDEX_NAME);
      } else if (typeof which === 'string') {
        names = [which];
      } else if (Array.isArray(which) && which.every((name) => typeof name === 'string')) {
        names = which as string[];
      } else if (isPlainObject(which)) {
        const spec = [...collection.indexes.values()].find(
          (candidate) => canonicalKey(candidate.key) === canonicalKey(which),
        );
        if (!spec) {
          throw new StoreError(
            'IndexNotFound',
            `can't find index with key: ${JSON.stringify(which)}`,
          );
        }
        names = [spec.name];
      } else {
        throw badValue("dropIndexes needs 'index': a name, a key pattern, names or '*'");
      }
      for (const name of names) {
        if (name === ID_INDEX_NAME) {
          throw new StoreError('InvalidOptions', 'cannot drop _id index');
        }
        if (!collection.indexes.has(name)) {
          throw new StoreError('IndexNotFound', `index not found with name [${name}]`);
        }
      }
      for (const name of names) {
        collection.removeIndex(name);
        this.stage({ op: 'dropIndex', db, coll, name });
      }
      return before;
    });
  }

  listCollections(db: string, filter: Doc = {}, nameOnly = false): Doc[] {
    this.assertUsable();
    const infos = [...(this.dbs.get(db)?.values() ?? [])].map((collection) =>
      nameOnly
        ? { name: collection.name, type: 'collection' }
        : {
            name: collection.name,
            type: 'collection',
            options: deepCopy(collection.options),
            info: { readOnly: false },
            idIndex: deepCopy(ID_INDEX),
          },
    );
    if (Object.keys(filter).length === 0) return infos;
    const query = compileQuery(filter);
    return infos.filter((info) => query.test(info));
  }

  listDatabases(): { name: string; sizeOnDisk: number; empty: boolean }[] {
    this.assertUsable();
    return [...this.dbs.keys()].map((name) => ({
      name,
      sizeOnDisk: this.dbStats(name).dataSize,
      empty: false,
    }));
  }

  collStats(db: string, coll: string): Doc {
    this.assertUsable();
    const collection = this.existing(db, coll);
    if (!collection) throw new StoreError('NamespaceNotFound', `ns not found ${db}.${coll}`);
    const count = collection.docs.size;
    const size = this.dataSize(collection);
    return {
      ns: collection.ns,
      count,
      size,
      avgObjSize: count === 0 ? 0 : Math.round(size / count),
      storageSize: size,
      nindexes: collection.indexes.size,
      totalIndexSize: 0,
      indexSizes: Object.fromEntries([...collection.indexes.keys()].map((name) => [name, 0])),
    };
  }

  dbStats(db: string): {
    collections: number;
    objects: number;
    dataSize: number;
    indexes: number;
  } {
    this.assertUsable();
    const collections = [...(this.dbs.get(db)?.values() ?? [])];
    return {
      collections: collections.length,
      objects: collections.reduce((sum, c) => sum + c.docs.size, 0),
      dataSize: collections.reduce((sum, c) => sum + this.dataSize(c), 0),
      indexes: collections.reduce((sum, c) => sum + c.indexes.size, 0),
    };
  }

  // ---- internals -------------------------------------------------------

  private write<T>(run: () => T): T {
    this.assertUsable();
    try {
      return run();
    } finally {
      this.commit();
      // Between commands: the engine is synchronous, so no other command can
      // see the state or append while the snapshot is taken and swapped in.
      this.compactIfWorthIt();
    }
  }

  private stage(record: JournalRecord): void {
    this.staged.push(record);
    if (record.op !== 'put' && record.op !== 'delete') this.liveStale = true;
  }

  /** Online compaction: see `open`. Never fails the command that triggered it. */
  private compactIfWorthIt(): void {
    const writer = this.writer;
    if (!writer || writer.failed || this.closed) return;
    const journal = writer.size;
    const { ratio, minDeadBytes } = this.compaction;
    if (journal < this.retryCompactionAt) return;
    if (!this.liveStale && (journal <= ratio * this.live || journal - this.live <= minDeadBytes)) {
      return;
    }
    if (this.liveStale) {
      this.live = this.liveBytes();
      this.liveStale = false;
      if (journal <= ratio * this.live || journal - this.live <= minDeadBytes) return;
    }
    try {
      const bytes = writer.compact(this.snapshot());
      if (bytes === null) {
        // The old journal is intact; try again once as much more is dead.
        this.stats.failures += 1;
        this.retryCompactionAt = journal + minDeadBytes;
        return;
      }
      this.stats.compactions += 1;
      this.retryCompactionAt = 0;
      // The snapshot is exactly the live state: start counting from its true size.
      this.live = bytes;
    } catch {
      // The writer failed after the swap and records why; the next command reports it.
    }
  }

  /** One append for everything the command changed, before its reply is sent. */
  private commit(): void {
    if (this.staged.length === 0) return;
    const records = this.staged;
    this.staged = [];
    this.writer?.append(records);
  }

  private existing(db: string, coll: string): Collection | undefined {
    return this.dbs.get(db)?.get(coll);
  }

  /** The collection, created (and journaled) on first write as MongoDB does. */
  private collectionForWrite(db: string, coll: string): Collection {
    const found = this.existing(db, coll);
    if (found) return found;
    checkDbName(db);
    checkCollectionName(db, coll);
    return this.addCollection(db, coll, {});
  }

  private addCollection(db: string, coll: string, options: Doc): Collection {
    const collection = this.collectionAt(db, coll, options);
    this.stage({ op: 'createCollection', db, coll, options });
    return collection;
  }

  private collectionAt(db: string, coll: string, options: Doc = {}): Collection {
    let collections = this.dbs.get(db);
    if (!collections) {
      collections = new Map();
      this.dbs.set(db, collections);
    }
    let collection = collections.get(coll);
    if (!collection) {
      collection = new Collection(db, coll, options);
      collections.set(coll, collection);
    }
    return collection;
  }

  private removeCollection(db: string, coll: string): void {
    const collections = this.dbs.get(db);
    collections?.delete(coll);
    if (collections?.size === 0) this.dbs.delete(db);
  }

  private sameIndexExists(collection: Collection, spec: IndexSpec): boolean {
    for (const existing of collection.indexes.values()) {
      const nameMatches = existing.name === spec.name;
      if (!nameMatches && !sameKey(existing, spec)) continue;
      if (nameMatches && sameKey(existing, spec) && sameIndexOptions(existing, spec)) return true;
      if (nameMatches) {
        throw new StoreError(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index but a different key ` +
            `or options. Requested index: ${JSON.stringify(spec)}, existing index: ` +
            `${JSON.stringify(existing)}`,
        );
      }
      throw new StoreError(
        'IndexOptionsConflict',
        `Index already exists with a different name: ${existing.name}`,
      );
    }
    return false;
  }

  /** Checks and stores a document, journaling it. */
  private store(collection: Collection, doc: Doc, isNew: boolean): void {
    const id = doc['_id'];
    if (Array.isArray(id)) throw badValue("The '_id' value cannot be of type array");
    if (id instanceof RegExp) throw badValue("can't use a regex for _id");
    for (const key of Object.keys(doc)) {
      if (key.startsWith('$')) throw badValue(`Document can't have $ prefixed field names: ${key}`);
    }
    const refused = refusedValue(doc);
    if (refused) {
      throw badValue(
        `field '${refused.path}' holds a BSON ${refused.type} value, which the embedded store ` +
          'does not store: its queries cannot compare such values exactly. Store bytes as a ' +
          'base64 or hex string and exact decimals as strings.',
      );
    }
    const size = calculateObjectSize(doc, BSON_WRITE_OPTIONS);
    if (size > MAX_BSON_OBJECT_SIZE) {
      throw new StoreError(
        'BSONObjectTooLarge',
        `document is ${size} bytes, over the ${MAX_BSON_OBJECT_SIZE}-byte BSON limit`,
      );
    }
    const duplicate = collection.duplicateOf(doc, isNew);
    if (duplicate) throw duplicate;
    const old = isNew ? undefined : collection.docs.get(canonicalKey(id));
    collection.put(doc);
    this.stage({ op: 'put', db: collection.db, coll: collection.name, doc });
    this.live += putRecordBytes(collection.db, collection.name, size);
    if (old) this.live -= this.putBytes(collection, old);
  }

  private unstore(collection: Collection, doc: Doc): void {
    collection.remove(doc['_id']);
    this.stage({ op: 'delete', db: collection.db, coll: collection.name, id: doc['_id'] });
    this.live -= this.putBytes(collection, doc);
  }

  /** What `doc`'s put record weighs in a snapshot. */
  private putBytes(collection: Collection, doc: Doc): number {
    return putRecordBytes(
      collection.db,
      collection.name,
      calculateObjectSize(doc, BSON_WRITE_OPTIONS),
    );
  }

  /** Documents matching `filter` in natural order; at most `limit` when it is not 0. */
  private matching(collection: Collection, filter: Doc, limit: number): Doc[] {
    const query = compileQuery(filter);
    const found: Doc[] = [];
    for (const doc of collection.candidates(filter)) {
      if (!query.test(doc)) continue;
      found.push(doc);
      if (found.length === limit) break;
    }
    return found;
  }

  private sorted(docs: Doc[], sort: Doc | undefined): Doc[] {
    const { spec, reverse } = readSort(sort);
    const ordered = reverse ? [...docs].reverse() : docs;
    if (!spec) return ordered;
    return compileQuery({})
      .find<Doc>(ordered)
      .sort(spec as never)
      .all();
  }

  private updateIn(
    collection: Collection,
    statement: UpdateStatement,
  ): { matched: number; modified: number; upserted?: Doc } {
    const { q, u, multi = false } = statement;
    if (multi && !Array.isArray(u) && !isOperatorUpdate(u)) {
      throw new StoreError(
        'FailedToParse',
        'multi update is not supported for replacement-style update',
      );
    }
    const targets = this.matching(collection, q, multi ? 0 : 1);
    if (targets.length === 0) {
      if (!statement.upsert) return { matched: 0, modified: 0 };
      return {
        matched: 0,
        modified: 0,
        upserted: this.upsert(collection, q, u, statement.arrayFilters),
      };
    }
    let modified = 0;
    for (const target of targets) {
      if (this.replaceWithUpdate(collection, target, u, statement.arrayFilters)) modified++;
    }
    return { matched: targets.length, modified };
  }

  /** Applies `u` to a stored document; the new document, or null when nothing changed. */
  private replaceWithUpdate(
    collection: Collection,
    target: Doc,
    u: Doc | Doc[],
    arrayFilters: Doc[] | undefined,
  ): Doc | null {
    const next = this.updatedDocument(target, u, arrayFilters, false);
    if (!next) return null;
    this.store(collection, next, false);
    return next;
  }

  /** Inserts the document an upsert creates: the query's equality fields, then the update. */
  private upsert(
    collection: Collection,
    q: Doc,
    u: Doc | Doc[],
    arrayFilters: Doc[] | undefined,
  ): Doc {
    const base = equalityFields(q);
    let doc: Doc;
    if (!Array.isArray(u) && !isOperatorUpdate(u)) {
      const replacement = deepCopy(u);
      doc = withIdFirst(
        replacement,
        replacement['_id'] !== undefined ? replacement['_id'] : base['_id'],
      );
    } else {
      doc = this.updatedDocument(base, u, arrayFilters, true) ?? base;
    }
    if (doc['_id'] === undefined) doc = withIdFirst(doc, new ObjectId());
    this.store(collection, doc, true);
    return doc;
  }

  /**
   * `old` changed by `u` as a new object (null when nothing changed): a
   * replacement keeps `_id`; operators (with `$setOnInsert` only when
   * inserting) and pipelines run in mingo on a copy. `_id` may never change.
   */
  private updatedDocument(
    old: Doc,
    u: Doc | Doc[],
    arrayFilters: Doc[] | undefined,
    inserting: boolean,
  ): Doc | null {
    let next: Doc;
    if (Array.isArray(u)) {
      const holder = [deepCopy(old)];
      const result = updateOne(
        holder,
        {},
        u as MingoPipelineUpdate,
        arrayFilters ? { arrayFilters } : {},
        MINGO_OPTIONS,
      );
      if (result.modifiedCount === 0) return null;
      next = holder[0] as Doc;
    } else if (isOperatorUpdate(u)) {
      const modifier: Doc = { ...u };
      const onInsert = modifier['$setOnInsert'];
      delete modifier['$setOnInsert'];
      if (inserting && isPlainObject(onInsert)) {
        const set = modifier['$set'];
        modifier['$set'] = { ...onInsert, ...(isPlainObject(set) ? set : {}) };
      }
      next = deepCopy(old);
      // `$set: { _id }` is allowed when it changes nothing, and is how an upsert's
      // `$setOnInsert: doc` names the new _id; mingo refuses any write to _id, so the
      // store takes it out first (a real change still fails below).
      const set = modifier['$set'];
      let idGiven = false;
      if (isPlainObject(set) && set['_id'] !== undefined) {
        const { _id: id, ...rest } = set;
        if (old['_id'] === undefined) {
          next['_id'] = deepCopy(id);
          idGiven = true;
        } else if (canonicalKey(id) !== canonicalKey(old['_id'])) {
          throw immutableId();
        }
        if (Object.keys(rest).length > 0) modifier['$set'] = rest;
        else delete modifier['$set'];
      }
      if (Object.keys(modifier).length === 0) {
        return idGiven ? withIdFirst(next, next['_id']) : null;
      }
      const changed = applyUpdateOperators(
        next,
        modifier as MingoModifier,
        arrayFilters,
        undefined,
        {
          cloneMode: 'deep',
          queryOptions: MINGO_OPTIONS,
        },
      );
      if (changed.length === 0 && !idGiven) return null;
    } else {
      if (u['_id'] !== undefined && canonicalKey(u['_id']) !== canonicalKey(old['_id'])) {
        throw immutableId();
      }
      const replacement = withIdFirst(deepCopy(u), old['_id']);
      return canonicalKey(replacement) === canonicalKey(old) ? null : replacement;
    }
    if (old['_id'] !== undefined && canonicalKey(next['_id']) !== canonicalKey(old['_id'])) {
      throw immutableId();
    }
    return withIdFirst(next, next['_id']);
  }

  // ---- journal replay and compaction -------------------------------------

  /** Applies one journaled record (replay: the record was checked when it was written). */
  private apply(record: JournalRecord): void {
    switch (record.op) {
      case 'put':
        this.collectionAt(record.db, record.coll).put(record.doc);
        return;
      case 'delete':
        this.existing(record.db, record.coll)?.remove(record.id);
        return;
      case 'createCollection':
        this.collectionAt(record.db, record.coll, record.options ?? {});
        return;
      case 'dropCollection':
        this.removeCollection(record.db, record.coll);
        return;
      case 'createIndex':
        this.collectionAt(record.db, record.coll).addIndex(record.spec as IndexSpec);
        return;
      case 'dropIndex':
        this.existing(record.db, record.coll)?.removeIndex(record.name);
        return;
      case 'dropDatabase':
        this.dbs.delete(record.db);
        return;
      default:
        throw new Error(
          `unknown embedded store journal record '${String((record as { op: unknown }).op)}'`,
        );
    }
  }

  /** The live state as journal records: what a compacted journal holds. */
  private *snapshot(): Generator<JournalRecord> {
    for (const [db, collections] of this.dbs) {
      for (const [coll, collection] of collections) {
        yield { op: 'createCollection', db, coll, options: collection.options };
        for (const spec of collection.indexes.values()) {
          if (spec.name !== ID_INDEX_NAME) yield { op: 'createIndex', db, coll, spec };
        }
        for (const doc of collection.docs.values()) yield { op: 'put', db, coll, doc };
      }
    }
  }

  private liveBytes(): number {
    let bytes = 8;
    for (const record of this.snapshot()) {
      bytes += 16 + calculateObjectSize(record, BSON_WRITE_OPTIONS);
    }
    return bytes;
  }

  private dataSize(collection: Collection): number {
    let size = 0;
    for (const doc of collection.docs.values()) {
      size += calculateObjectSize(doc, BSON_WRITE_OPTIONS);
    }
    return size;
  }
}

function writeError(index: number, error: unknown): WriteError {
  const reply = asStoreError(error).toReply();
  return { index, code: reply['code'] as number, errmsg: reply['errmsg'] as string, ...reply };
}

function immutableId(): StoreError {
  return new StoreError(
    'ImmutableField',
    "Performing an update on the path '_id' would modify the immutable field '_id'",
  );
}
