import {
  BSON,
  MongoBulkWriteError,
  type Collection,
  type Document,
  type MongoClient,
} from 'mongodb';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { toConnectorError } from './errors';
import type { Row, TableSinkOptions, TableRowSink } from './model';
import { mongoCollectionName } from './names';
import { openMongo } from './sessions';

const DUPLICATE_KEY = 11000;
const ID_INDEX = '_id_';

/** A row's document id: its own `_id`, else one made of the job and its row number, the same in every attempt. */
export function documentId(row: Row, jobId: string, line: number): unknown {
  const own = row['_id'];
  return own === undefined || own === null ? `${jobId}:${String(line).padStart(12, '0')}` : own;
}

/** A document of a batch the server refused because a unique index already holds its key. */
interface Duplicate {
  /** Its position in the batch. */
  index: number;
  /**
   * Whether the index is `_id`'s; undefined when the server does not say
   * (FerretDB names neither the index nor the key in its E11000).
   */
  onId: boolean | undefined;
  /** The index's name, when the server gives it. */
  indexName?: string;
}

/** The index a duplicate-key error names: MongoDB says `... index: email_1 dup key: { ... }`. */
function duplicateOf(index: number, errmsg: unknown, keyPattern: unknown): Duplicate {
  if (keyPattern && typeof keyPattern === 'object') {
    const fields = Object.keys(keyPattern);
    return { index, onId: fields.length === 1 && fields[0] === '_id' };
  }
  const named = /\bindex: (\S+) dup key/.exec(typeof errmsg === 'string' ? errmsg : '')?.[1];
  return named === undefined
    ? { index, onId: undefined }
    : { index, onId: named === ID_INDEX, indexName: named };
}

/** The duplicate-key failures of an insert of `count` documents, or undefined if anything else failed too. */
function duplicatesOf(error: unknown, count: number): Duplicate[] | undefined {
  if (error instanceof MongoBulkWriteError) {
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    if (
      error.writeConcernError !== undefined ||
      writeErrors.length === 0 ||
      writeErrors.some((e) => e.code !== DUPLICATE_KEY)
    ) {
      return undefined;
    }
    return writeErrors.map((e) =>
      duplicateOf(e.index, e.errmsg, (e.err as { keyPattern?: unknown }).keyPattern),
    );
  }
  const { code, message, keyPattern } = error as {
    code?: unknown;
    message?: unknown;
    keyPattern?: unknown;
  };
  return code === DUPLICATE_KEY && count === 1 ? [duplicateOf(0, message, keyPattern)] : undefined;
}

/** The same `_id` as the driver sends it, comparable as text. */
const idText = (id: unknown) => BSON.EJSON.stringify({ id }, { relaxed: false });

/**
 * The duplicates that are not a document already written by an earlier
 * attempt of the task. A duplicate whose index the server does not name is
 * one when a document with its `_id` is there: a retried row always brings
 * the same `_id`, and a document is never half-inserted.
 */
async function foreignDuplicates(
  collection: Collection,
  documents: Document[],
  duplicates: Duplicate[],
): Promise<Duplicate[]> {
  const unknown = duplicates.filter((d) => d.onId === undefined);
  const present = new Set<string>();
  if (unknown.length > 0) {
    const ids = unknown.map((d) => documents[d.index]?.['_id'] as unknown);
    const found = await collection
      .find({ _id: { $in: ids } } as Document, { projection: { _id: 1 } })
      .toArray();
    for (const doc of found) present.add(idText(doc['_id']));
  }
  return duplicates.filter(
    (d) =>
      d.onId === false ||
      (d.onId === undefined && !present.has(idText(documents[d.index]?.['_id']))),
  );
}

/** A value at a dotted path of a document; null where the path ends, as a unique index stores it. */
function valueAt(document: Document, path: string): unknown {
  let value: unknown = document;
  for (const part of path.split('.')) {
    value = value && typeof value === 'object' ? (value as Document)[part] : undefined;
  }
  return value ?? null;
}

/**
 * Which unique index (other than `_id`'s) already holds the document's key:
 * the server's word when it gave one, else the first unique index under which
 * another document has the same values.
 */
async function brokenIndex(
  collection: Collection,
  document: Document,
  named: string | undefined,
): Promise<{ name: string; fields: string[] } | undefined> {
  const indexes = (await collection.indexes()).filter(
    (i) => i.unique === true && i.name !== ID_INDEX,
  );
  const fieldsOf = (key: Document) => Object.keys(key);
  const byName = indexes.find((i) => i.name === named);
  if (byName) return { name: byName.name ?? '', fields: fieldsOf(byName.key) };
  for (const index of indexes) {
    const fields = fieldsOf(index.key);
    const filter = Object.fromEntries(fields.map((f) => [f, valueAt(document, f)]));
    if (await collection.findOne(filter, { projection: { _id: 1 } })) {
      return { name: index.name ?? '', fields };
    }
  }
  return undefined;
}

/** The permanent error for a row that breaks one of the user's own unique indexes. */
async function uniqueViolation(
  collection: Collection,
  table: string,
  document: Document,
  line: number | undefined,
  named: string | undefined,
): Promise<ConnectorError> {
  const index = await brokenIndex(collection, document, named).catch(() => undefined);
  const row = line === undefined ? 'a row' : `row ${line}`;
  const what = index
    ? `the unique index '${index.name}' on ${index.fields.map((f) => `'${f}'`).join(', ')}`
    : `a unique index${named ? ` ('${named}')` : ''}`;
  return new ConnectorError(
    `${row} has the same key as a document already in the collection '${table}', which ${what} forbids: the row was not written`,
    true,
  );
}

/**
 * A task's rows into a MongoDB collection, exactly once: every document's
 * `_id` is fixed by the row, so a retried task inserts the same ids again and
 * those duplicates are simply skipped. A duplicate on any other unique index
 * is the user's data breaking the user's rule, and fails the task. Needs no
 * transaction (FerretDB has none): a single-document insert is atomic, and
 * commit and abort only close.
 */
export class MongoCollectionSink implements TableRowSink {
  private client?: MongoClient;

  constructor(
    private readonly config: ConnectionConfig,
    private readonly spec: { driver: 'mongodb'; table: string },
    private readonly options: TableSinkOptions,
  ) {}

  async write(rows: Row[], lines: number[]): Promise<void> {
    if (rows.length === 0) return;
    if (lines.length !== rows.length) {
      throw new ConnectorError('every row written needs its row number', true);
    }
    const documents = rows.map(
      (row, i): Document => ({
        ...row,
        _id: documentId(row, this.options.jobId, lines[i] ?? 0),
      }),
    );
    try {
      this.client ??= await openMongo(this.config, this.options);
      await this.collection(this.client).insertMany(documents, { ordered: false });
    } catch (error) {
      const duplicates = duplicatesOf(error, documents.length);
      if (!duplicates || !this.client) throw this.failure(error);
      await this.refuseForeignDuplicates(this.client, documents, lines, duplicates);
    }
  }

  commit(): Promise<void> {
    return this.close();
  }

  abort(): Promise<void> {
    return this.close();
  }

  /** Throws for the first duplicate that is not a row an earlier attempt already wrote. */
  private async refuseForeignDuplicates(
    client: MongoClient,
    documents: Document[],
    lines: number[],
    duplicates: Duplicate[],
  ): Promise<void> {
    const collection = this.collection(client);
    let foreign: Duplicate[];
    try {
      foreign = await foreignDuplicates(collection, documents, duplicates);
    } catch (error) {
      throw this.failure(error);
    }
    const first = foreign[0];
    if (!first) return;
    throw await uniqueViolation(
      collection,
      this.spec.table,
      documents[first.index] ?? {},
      lines[first.index],
      first.indexName,
    );
  }

  private collection(client: MongoClient): Collection {
    return client.db(this.config.database).collection(mongoCollectionName(this.spec.table));
  }

  private failure(error: unknown): ConnectorError {
    return toConnectorError('mongodb', error, { config: this.config, table: this.spec.table });
  }

  private async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}
