import { BSON, type Collection, type Document, type Filter, type MongoClient } from 'mongodb';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import type { KeyIndex, TableDriverImpl } from './driver';
import {
  statementTimeoutOf,
  type KeyRange,
  type ResolvedTableSpec,
  type Row,
  type TableAccess,
} from './model';
import { mongoCollectionName, mongoFieldName } from './names';
import { closeOnAbort, openMongo } from './sessions';
import { plainRow } from './values';

/** Documents sampled to name a collection's fields. */
const SAMPLE = 20;

/**
 * MongoDB compares values of different types by type, not value (`$gt: 5`
 * never matches a string), so a split key must have one kind of value in
 * every document: these kinds compare as values within themselves.
 */
function keyKind(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    return typeof value;
  }
  if (value instanceof Date) return 'date';
  if (value instanceof BSON.ObjectId) return 'objectId';
  if (value instanceof BSON.Timestamp) return 'timestamp';
  if (
    value instanceof BSON.Long ||
    value instanceof BSON.Decimal128 ||
    value instanceof BSON.Int32 ||
    value instanceof BSON.Double
  ) {
    return 'number';
  }
  if (value instanceof BSON.Binary) return 'binary';
  return null;
}

/** Bounds travel as canonical Extended JSON: exact, and typed (an ObjectId stays an ObjectId). */
const toBound = (value: unknown): unknown =>
  BSON.EJSON.serialize({ v: value }, { relaxed: false })['v'];
const fromBound = (bound: unknown): unknown =>
  (BSON.EJSON.deserialize({ v: bound } as Document, { relaxed: false }) as { v: unknown }).v;

function rangeFilter(key: string, after: unknown, upTo: unknown): Filter<Document> {
  const condition: Record<string, unknown> = {};
  if (after !== null && after !== undefined) condition['$gt'] = fromBound(after);
  if (upTo !== null && upTo !== undefined) condition['$lte'] = fromBound(upTo);
  return Object.keys(condition).length > 0 ? { [key]: condition } : {};
}

/**
 * The first and last value of `key` in key order, when every document has one
 * of the same kind (a missing or null key sorts first, so one look at each
 * end settles it); `mixed` otherwise.
 */
async function keyExtremes(
  collection: Collection,
  key: string,
  maxTimeMS: number,
): Promise<{ mixed: boolean; last: unknown }> {
  const end = async (direction: 1 | -1) =>
    (
      await collection
        .find({}, { projection: { [key]: 1 }, sort: { [key]: direction }, limit: 1, maxTimeMS })
        .toArray()
    )[0];
  const [first, last] = await Promise.all([end(1), end(-1)]);
  if (!first || !last) return { mixed: false, last: undefined };
  const kind = keyKind(first[key]);
  return { mixed: kind === null || kind !== keyKind(last[key]), last: last[key] };
}

/**
 * MongoDB matches a range against every element of an array: a document
 * whose split key is [2, 30] falls in the range (1, 5] and in (20, 40], and
 * would be read by two tasks. One lookup refuses a split key that is an array
 * anywhere in the collection (`_id` never is one).
 */
async function refuseArrayKeys(
  collection: Collection,
  table: string,
  key: string,
  maxTimeMS: number,
): Promise<void> {
  if (key === '_id') return;
  const found = await collection.findOne(
    { [key]: { $type: 'array' } },
    { projection: { _id: 1 }, maxTimeMS },
  );
  if (found) {
    throw new ConnectorError(
      `the split key '${key}' holds an array in some documents of '${table}': such a document would be read by more than one task, so choose a field that holds a single value in every document`,
      true,
    );
  }
}

function mixedKeys(collection: string, key: string): ConnectorError {
  return new ConnectorError(
    `the split key '${key}' is missing, null, an array or of mixed types in some documents of '${collection}': choose a field every document has, with one type`,
    true,
  );
}

async function withCollection<T>(
  config: ConnectionConfig,
  name: string,
  access: TableAccess,
  work: (collection: Collection, client: MongoClient) => Promise<T>,
): Promise<T> {
  const client = await openMongo(config, access);
  try {
    return await work(client.db(config.database).collection(mongoCollectionName(name)), client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function existingCollection(
  client: MongoClient,
  config: ConnectionConfig,
  name: string,
): Promise<void> {
  const found = await client
    .db(config.database)
    .listCollections({ name: mongoCollectionName(name) }, { nameOnly: true })
    .toArray();
  if (found.length === 0) {
    throw new ConnectorError(`the collection '${name}' does not exist`, true);
  }
}

export const mongoTables: TableDriverImpl = {
  inspect(config, spec, access) {
    return withCollection(config, spec.table, access, async (collection, client) => {
      await existingCollection(client, config, spec.table);
      const maxTimeMS = access.timeoutMs;
      const [rowEstimate, sample] = await Promise.all([
        collection.estimatedDocumentCount({ maxTimeMS }),
        collection.find({}, { limit: SAMPLE, maxTimeMS }).toArray(),
      ]);
      const columns = [...new Set(sample.flatMap((doc) => Object.keys(doc)))];
      const key = mongoFieldName(spec.splitKey ?? '_id');
      const { mixed } = await keyExtremes(collection, key, maxTimeMS);
      // `_id` values of several types still order a one-task read (they are unique); a chosen field must not be mixed.
      if (mixed && spec.splitKey !== null && spec.splitKey !== undefined) {
        throw mixedKeys(spec.table, key);
      }
      if (!mixed) await refuseArrayKeys(collection, spec.table, key, maxTimeMS);
      return { columns, splitKey: mixed ? null : key, rowEstimate };
    });
  },

  async openKeyIndex(config, spec, access) {
    const name = mongoCollectionName(spec.table);
    const key = spec.splitKey === null ? null : mongoFieldName(spec.splitKey);
    const client = await openMongo(config, access);
    const collection = client.db(config.database).collection(name);
    const maxTimeMS = statementTimeoutOf(access);
    const index: KeyIndex = {
      unique: key === '_id',
      lastKey: async () => {
        if (!key) return undefined;
        const { mixed, last } = await keyExtremes(collection, key, maxTimeMS);
        if (mixed) throw mixedKeys(spec.table, key);
        // Planned now, after submission: documents may have changed since.
        await refuseArrayKeys(collection, spec.table, key, maxTimeMS);
        return last === undefined ? undefined : toBound(last);
      },
      keyAt: async (after, upTo, position) => {
        if (!key) return undefined;
        const [doc] = await collection
          .find(rangeFilter(key, after, upTo), {
            projection: { [key]: 1 },
            sort: { [key]: 1 },
            skip: position - 1,
            limit: 1,
            maxTimeMS,
          })
          .toArray();
        return doc ? toBound(doc[key]) : undefined;
      },
      count: (after, upTo) =>
        collection.countDocuments(key ? rangeFilter(key, after, upTo) : {}, { maxTimeMS }),
      countAll: () => collection.countDocuments({}, { maxTimeMS }),
      close: () => client.close().catch(() => undefined),
    };
    try {
      await existingCollection(client, config, spec.table);
      return index;
    } catch (error) {
      await index.close();
      throw error;
    }
  },

  readRows: readMongoRows,
};

/** One cursor over the range in key order (ties by `_id`); the driver fetches `batchRows` documents at a time. */
async function* readMongoRows(
  config: ConnectionConfig,
  spec: ResolvedTableSpec,
  range: KeyRange,
  access: TableAccess,
  batchRows: number,
): AsyncGenerator<Row[]> {
  const name = mongoCollectionName(spec.table);
  const key = spec.splitKey === null ? null : mongoFieldName(spec.splitKey);
  const client = await openMongo(config, access);
  const stopListening = closeOnAbort(access.signal, () => void client.close());
  try {
    await existingCollection(client, config, spec.table);
    const cursor = client
      .db(config.database)
      .collection(name)
      .find(key ? rangeFilter(key, range.after, range.upTo) : {}, {
        sort: key && key !== '_id' ? { [key]: 1, _id: 1 } : { _id: 1 },
        batchSize: batchRows,
        maxTimeMS: statementTimeoutOf(access),
      });
    let batch: Row[] = [];
    for await (const doc of cursor) {
      batch.push(plainRow(doc));
      if (batch.length === batchRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    stopListening();
    await client.close().catch(() => undefined);
  }
}
