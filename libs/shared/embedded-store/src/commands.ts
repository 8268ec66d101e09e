import * as os from 'node:os';
import { Long } from 'bson';
import { DEFAULT_FIRST_BATCH, type Batch, type CursorRegistry } from './cursors';
import {
  MAX_BSON_OBJECT_SIZE,
  type DeleteStatement,
  type StoreEngine,
  type UpdateStatement,
  type WriteError,
} from './engine';
import { StoreError, asStoreError, badValue } from './errors';
import { MAX_MESSAGE_BYTES } from './wire';
import { isPlainObject, type Doc } from './values';

export const SERVER_VERSION = '7.0.0-cloudflow-embedded';
const VERSION_ARRAY = [7, 0, 0, 0];
const MAX_WRITE_BATCH_SIZE = 100_000;
const MAX_WIRE_VERSION = 21;

/** What a command may need to know about the connection it came on. */
export interface ConnectionInfo {
  readonly connectionId: number;
  readonly remote: string;
}

export interface ServerCounters {
  current: number;
  totalCreated: number;
  readonly startedAt: number;
}

type Handler = (body: Doc, db: string, connection: ConnectionInfo) => Doc;

/** Drivers send flags as booleans or numbers. */
function isTrue(value: unknown): boolean {
  return value === true || (typeof value === 'number' && value !== 0);
}

/** The collection a command names in its first field. */
function collectionArg(body: Doc, command: string): string {
  const value = body[command];
  if (typeof value !== 'string' || value === '') {
    throw new StoreError('InvalidNamespace', `'${command}' needs a collection name`);
  }
  return value;
}

function docArg(body: Doc, field: string): Doc | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    throw new StoreError('TypeMismatch', `'${field}' must be a document`);
  }
  return value;
}

function arrayArg(body: Doc, field: string): unknown[] {
  const value = body[field];
  if (!Array.isArray(value)) throw new StoreError('TypeMismatch', `'${field}' must be an array`);
  return value;
}

function intArg(body: Doc, field: string, fallback: number): number {
  const raw = body[field];
  if (raw === undefined || raw === null) return fallback;
  const value = typeof raw === 'number' ? raw : raw instanceof Long ? raw.toNumber() : NaN;
  if (!Number.isFinite(value)) throw new StoreError('TypeMismatch', `'${field}' must be a number`);
  return Math.trunc(value);
}

function nonNegative(body: Doc, field: string, fallback: number): number {
  const value = intArg(body, field, fallback);
  if (value < 0) throw badValue(`'${field}' must not be negative`);
  return value;
}

/** Refuses collations other than the simple (binary) one the store compares with. */
function checkCollation(body: Doc): void {
  const collation = body['collation'];
  if (collation === undefined || collation === null) return;
  if (isPlainObject(collation) && collation['locale'] === 'simple') return;
  throw new StoreError('CommandNotSupported', 'collations are not supported by the embedded store');
}

function cursorReply(batch: Batch, field: 'firstBatch' | 'nextBatch'): Doc {
  return { cursor: { [field]: batch.docs, id: batch.id, ns: batch.ns }, ok: 1 };
}

function withWriteErrors(reply: Doc, writeErrors: WriteError[]): Doc {
  return writeErrors.length > 0 ? { ...reply, writeErrors, ok: 1 } : { ...reply, ok: 1 };
}

function transactionsRefused(): StoreError {
  return new StoreError(
    'IllegalOperation',
    'Transactions are not supported by the CloudFlow embedded store (a standalone server); ' +
      'CloudFlow does not use them',
  );
}

/** Fields any command may carry that are not options of the command itself. */
const GENERIC_FIELDS = new Set([
  'lsid',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'writeConcern',
  'readConcern',
  'comment',
  'maxTimeMS',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
]);

/** Commands answered through a legacy OP_QUERY; every other one must come as OP_MSG. */
export const HANDSHAKE_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);

/**
 * MongoDB's commands over the engine: reads the command document, calls the
 * engine, shapes the reply as mongod would. Never throws: every failure is a
 * `{ ok: 0, errmsg, code, codeName }` reply and the connection stays open.
 */
export class CommandRunner {
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly engine: StoreEngine,
    private readonly cursors: CursorRegistry,
    private readonly counters: ServerCounters,
  ) {
    const hello: Handler = (body, _db, connection) => this.hello(body, connection);
    this.handlers = {
      hello,
      isMaster: hello,
      ismaster: hello,
      // Readiness probes ping: once the journal has failed every command fails, so ping
      // must too. hello stays ok so a client can still connect and be told why.
      ping: () => {
        this.engine.assertUsable();
        return { ok: 1 };
      },
      buildInfo: () => this.buildInfo(),
      buildinfo: () => this.buildInfo(),
      hostInfo: () => this.hostInfo(),
      getParameter: (body) => this.getParameter(body),
      getLog: (body) => this.getLog(body),
      connectionStatus: () => ({
        authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] },
        ok: 1,
      }),
      whatsmyuri: (_body, _db, connection) => ({ you: connection.remote, ok: 1 }),
      endSessions: () => ({ ok: 1 }),
      refreshSessions: () => ({ ok: 1 }),
      killCursors: (body) => this.killCursors(body),
      insert: (body, db) => this.insert(body, db),
      find: (body, db) => this.find(body, db),
      getMore: (body, db) => this.getMore(body, db),
      update: (body, db) => this.update(body, db),
      delete: (body, db) => this.delete(body, db),
      findAndModify: (body, db) => this.findAndModify(body, db, 'findAndModify'),
      findandmodify: (body, db) => this.findAndModify(body, db, 'findandmodify'),
      count: (body, db) => this.count(body, db),
      aggregate: (body, db) => this.aggregate(body, db),
      distinct: (body, db) => this.distinct(body, db),
      createIndexes: (body, db) => ({
        ...this.engine.createIndexes(
          db,
          collectionArg(body, 'createIndexes'),
          arrayArg(body, 'indexes'),
        ),
        ok: 1,
      }),
      listIndexes: (body, db) => this.listIndexes(body, db),
      dropIndexes: (body, db) => this.dropIndexes(body, db, 'dropIndexes'),
      deleteIndexes: (body, db) => this.dropIndexes(body, db, 'deleteIndexes'),
      listCollections: (body, db) => this.listCollections(body, db),
      create: (body, db) => this.create(body, db),
      drop: (body, db) => {
        const coll = collectionArg(body, 'drop');
        return { ns: `${db}.${coll}`, nIndexesWas: this.engine.dropCollection(db, coll), ok: 1 };
      },
      dropDatabase: (_body, db) => {
        this.engine.dropDatabase(db);
        return { dropped: db, ok: 1 };
      },
      listDatabases: (body) => this.listDatabases(body),
      collStats: (body, db) => ({
        ...this.engine.collStats(db, collectionArg(body, 'collStats')),
        ok: 1,
      }),
      dbStats: (_body, db) => this.dbStats(db),
      serverStatus: () => this.serverStatus(),
      commitTransaction: () => {
        throw transactionsRefused();
      },
      abortTransaction: () => {
        throw transactionsRefused();
      },
    };
  }

  /** Runs one command document; the reply document, success or failure. */
  run(body: Doc, connection: ConnectionInfo): Doc {
    try {
      const name = Object.keys(body)[0];
      if (name === undefined) throw badValue('empty command');
      const handler = Object.prototype.hasOwnProperty.call(this.handlers, name)
        ? this.handlers[name]
        : undefined;
      if (!handler) {
        throw new StoreError('CommandNotFound', `no such command: '${name}'`);
      }
      const db = body['$db'];
      if (typeof db !== 'string' || db === '') {
        throw badValue("the command has no '$db' (the database it runs in)");
      }
      // lsid, $clusterTime, readConcern, writeConcern and txnNumber are accepted and ignored:
      // one standalone server with every write journaled before its reply.
      if (body['startTransaction'] === true || body['autocommit'] === false) {
        throw transactionsRefused();
      }
      return handler(body, db, connection);
    } catch (error) {
      return { ok: 0, ...asStoreError(error).toReply() };
    }
  }

  private hello(body: Doc, connection: ConnectionInfo): Doc {
    // No setName, hosts or topologyVersion: the driver sees a standalone, so it
    // neither starts transactions nor retries writes, and polls instead of streaming hellos.
    const legacy = body['hello'] === undefined;
    return {
      ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
      helloOk: true,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: connection.connectionId,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
      ok: 1,
    };
  }

  private buildInfo(): Doc {
    return {
      version: SERVER_VERSION,
      gitVersion: 'cloudflow-embedded',
      versionArray: VERSION_ARRAY,
      bits: 64,
      debug: false,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      storageEngines: ['cloudflow-journal'],
      javascriptEngine: 'none',
      modules: [],
      openssl: { running: 'disabled' },
      ok: 1,
    };
  }

  private hostInfo(): Doc {
    return {
      system: {
        currentTime: new Date(),
        hostname: os.hostname(),
        cpuAddrSize: 64,
        memSizeMB: Math.round(os.totalmem() / (1024 * 1024)),
        numCores: os.cpus().length,
        cpuArch: os.arch(),
      },
      os: { type: os.type(), name: os.platform(), version: os.release() },
      extra: {},
      ok: 1,
    };
  }

  private getParameter(body: Doc): Doc {
    const known: Doc = {
      featureCompatibilityVersion: { version: '7.0' },
      authenticationMechanisms: [],
    };
    if (body['getParameter'] === '*') return { ...known, ok: 1 };
    const reply: Doc = {};
    for (const name of Object.keys(body)) {
      if (name in known) reply[name] = known[name];
    }
    return { ...reply, ok: 1 };
  }

  private getLog(body: Doc): Doc {
    if (body['getLog'] === '*') return { names: ['global', 'startupWarnings'], ok: 1 };
    return { totalLinesWritten: 0, log: [], ok: 1 };
  }

  private serverStatus(): Doc {
    const uptimeMillis = Date.now() - this.counters.startedAt;
    return {
      host: os.hostname(),
      version: SERVER_VERSION,
      process: 'cloudflow-embedded-store',
      pid: Long.fromNumber(process.pid),
      uptime: Math.floor(uptimeMillis / 1000),
      uptimeMillis: Long.fromNumber(uptimeMillis),
      localTime: new Date(),
      connections: {
        current: this.counters.current,
        available: 1_000_000,
        totalCreated: this.counters.totalCreated,
      },
      metrics: { cursor: { open: { total: this.cursors.size } } },
      ok: 1,
    };
  }

  private dbStats(db: string): Doc {
    const stats = this.engine.dbStats(db);
    return {
      db,
      collections: stats.collections,
      views: 0,
      objects: stats.objects,
      avgObjSize: stats.objects === 0 ? 0 : stats.dataSize / stats.objects,
      dataSize: stats.dataSize,
      storageSize: stats.dataSize,
      indexes: stats.indexes,
      indexSize: 0,
      ok: 1,
    };
  }

  private listDatabases(body: Doc): Doc {
    let databases: Doc[] = this.engine.listDatabases();
    const filter = docArg(body, 'filter');
    if (filter && typeof filter['name'] === 'string') {
      databases = databases.filter((d) => d['name'] === filter['name']);
    }
    if (isTrue(body['nameOnly']))
      return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
    const totalSize = databases.reduce((sum, d) => sum + (d['sizeOnDisk'] as number), 0);
    return { databases, totalSize, totalSizeMb: Math.floor(totalSize / (1024 * 1024)), ok: 1 };
  }

  private killCursors(body: Doc): Doc {
    collectionArg(body, 'killCursors');
    const { killed, notFound } = this.cursors.kill(arrayArg(body, 'cursors'));
    return {
      cursorsKilled: killed,
      cursorsNotFound: notFound,
      cursorsAlive: [],
      cursorsUnknown: [],
      ok: 1,
    };
  }

  private insert(body: Doc, db: string): Doc {
    const coll = collectionArg(body, 'insert');
    const documents = arrayArg(body, 'documents');
    const result = this.engine.insert(db, coll, documents, body['ordered'] !== false);
    return withWriteErrors({ n: result.n }, result.writeErrors);
  }

  private update(body: Doc, db: string): Doc {
    const coll = collectionArg(body, 'update');
    const statements = arrayArg(body, 'updates').map((raw): UpdateStatement => {
      if (!isPlainObject(raw)) throw badValue('each update must be a document');
      checkCollation(raw);
      const q = raw['q'] ?? {};
      const u = raw['u'];
      if (!isPlainObject(q)) throw new StoreError('TypeMismatch', "'q' must be a document");
      if (!isPlainObject(u) && !Array.isArray(u)) {
        throw new StoreError('FailedToParse', "'u' must be a document or a pipeline");
      }
      const arrayFilters = raw['arrayFilters'];
      return {
        q,
        u: u as Doc | Doc[],
        upsert: isTrue(raw['upsert']),
        multi: isTrue(raw['multi']),
        ...(Array.isArray(arrayFilters) && { arrayFilters: arrayFilters as Doc[] }),
      };
    });
    const result = this.engine.update(db, coll, statements, body['ordered'] !== false);
    const reply: Doc = { n: result.n, nModified: result.nModified };
    if (result.upserted.length > 0) reply['upserted'] = result.upserted;
    return withWriteErrors(reply, result.writeErrors);
  }

  private delete(body: Doc, db: string): Doc {
    const coll = collectionArg(body, 'delete');
    const statements = arrayArg(body, 'deletes').map((raw): DeleteStatement => {
      if (!isPlainObject(raw)) throw badValue('each delete must be a document');
      checkCollation(raw);
      const q = raw['q'] ?? {};
      if (!isPlainObject(q)) throw new StoreError('TypeMismatch', "'q' must be a document");
      const limit = intArg(raw, 'limit', 0);
      if (limit !== 0 && limit !== 1) throw badValue("a delete's limit must be 0 or 1");
      return { q, limit };
    });
    const result = this.engine.delete(db, coll, statements, body['ordered'] !== false);
    return withWriteErrors({ n: result.n }, result.writeErrors);
  }

  private findAndModify(body: Doc, db: string, command: string): Doc {
    checkCollation(body);
    const coll = collectionArg(body, command);
    const update = body['update'];
    if (update !== undefined && !isPlainObject(update) && !Array.isArray(update)) {
      throw new StoreError('FailedToParse', "'update' must be a document or a pipeline");
    }
    const arrayFilters = body['arrayFilters'];
    const fields = docArg(body, 'fields') ?? docArg(body, 'projection');
    const query = docArg(body, 'query');
    const sort = docArg(body, 'sort');
    const result = this.engine.findAndModify(db, coll, {
      ...(query && { query }),
      ...(sort && { sort }),
      ...(fields && { fields }),
      ...(update !== undefined && { update: update as Doc | Doc[] }),
      ...(Array.isArray(arrayFilters) && { arrayFilters: arrayFilters as Doc[] }),
      remove: isTrue(body['remove']),
      returnNew: isTrue(body['new']),
      upsert: isTrue(body['upsert']),
    });
    return { lastErrorObject: result.lastErrorObject, value: result.value, ok: 1 };
  }

  private find(body: Doc, db: string): Doc {
    checkCollation(body);
    if (isTrue(body['tailable']) || isTrue(body['awaitData'])) {
      throw new StoreError('CommandNotSupported', 'tailable cursors need a capped collection');
    }
    const coll = collectionArg(body, 'find');
    const limitArg = intArg(body, 'limit', 0);
    const filter = docArg(body, 'filter');
    const sort = docArg(body, 'sort');
    const projection = docArg(body, 'projection');
    const docs = this.engine.find(db, coll, {
      ...(filter && { filter }),
      ...(sort && { sort }),
      ...(projection && { projection }),
      skip: nonNegative(body, 'skip', 0),
      limit: Math.abs(limitArg),
    });
    // A negative limit is the legacy way of asking for a single batch.
    const singleBatch = isTrue(body['singleBatch']) || limitArg < 0;
    const batchSize = nonNegative(body, 'batchSize', DEFAULT_FIRST_BATCH);
    return cursorReply(
      this.cursors.open(`${db}.${coll}`, docs, batchSize, singleBatch),
      'firstBatch',
    );
  }

  private getMore(body: Doc, db: string): Doc {
    const id = body['getMore'];
    if (typeof id !== 'number' && !(id instanceof Long)) {
      throw new StoreError('TypeMismatch', "'getMore' must be a cursor id");
    }
    const coll = body['collection'];
    if (typeof coll !== 'string')
      throw new StoreError('TypeMismatch', "'collection' must be a string");
    const batch = this.cursors.getMore(id, `${db}.${coll}`, nonNegative(body, 'batchSize', 0));
    return cursorReply(batch, 'nextBatch');
  }

  private count(body: Doc, db: string): Doc {
    checkCollation(body);
    const coll = collectionArg(body, 'count');
    const n = this.engine.count(
      db,
      coll,
      docArg(body, 'query') ?? {},
      nonNegative(body, 'skip', 0),
      Math.abs(intArg(body, 'limit', 0)),
    );
    return { n, ok: 1 };
  }

  private aggregate(body: Doc, db: string): Doc {
    checkCollation(body);
    const target = body['aggregate'];
    if (typeof target !== 'string') {
      throw new StoreError(
        'CommandNotSupported',
        'database-level aggregations ({ aggregate: 1 }) are not supported by the embedded store',
      );
    }
    if (isTrue(body['explain'])) {
      throw new StoreError('CommandNotSupported', 'explain is not supported by the embedded store');
    }
    const pipeline = arrayArg(body, 'pipeline');
    for (const stage of pipeline) {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
        throw badValue('each pipeline stage must be a document with exactly one field');
      }
    }
    const cursor = docArg(body, 'cursor');
    if (!cursor) {
      throw new StoreError('FailedToParse', "The 'cursor' option is required");
    }
    const docs = this.engine.aggregate(db, target, pipeline as Doc[]);
    const batchSize = nonNegative(cursor, 'batchSize', DEFAULT_FIRST_BATCH);
    return cursorReply(this.cursors.open(`${db}.${target}`, docs, batchSize), 'firstBatch');
  }

  private distinct(body: Doc, db: string): Doc {
    checkCollation(body);
    const coll = collectionArg(body, 'distinct');
    const key = body['key'];
    if (typeof key !== 'string' || key === '') {
      throw new StoreError('TypeMismatch', "'key' must be a field name");
    }
    return { values: this.engine.distinct(db, coll, key, docArg(body, 'query') ?? {}), ok: 1 };
  }

  private listIndexes(body: Doc, db: string): Doc {
    const coll = collectionArg(body, 'listIndexes');
    const specs = this.engine.listIndexes(db, coll);
    const batchSize = nonNegative(docArg(body, 'cursor') ?? {}, 'batchSize', Infinity);
    return cursorReply(this.cursors.open(`${db}.${coll}`, specs, batchSize), 'firstBatch');
  }

  private dropIndexes(body: Doc, db: string, command: string): Doc {
    const coll = collectionArg(body, command);
    const nIndexesWas = this.engine.dropIndexes(db, coll, body['index']);
    return { nIndexesWas, ok: 1 };
  }

  private listCollections(body: Doc, db: string): Doc {
    const infos = this.engine.listCollections(
      db,
      docArg(body, 'filter') ?? {},
      isTrue(body['nameOnly']),
    );
    const batchSize = nonNegative(docArg(body, 'cursor') ?? {}, 'batchSize', Infinity);
    return cursorReply(
      this.cursors.open(`${db}.$cmd.listCollections`, infos, batchSize),
      'firstBatch',
    );
  }

  private create(body: Doc, db: string): Doc {
    const coll = collectionArg(body, 'create');
    const options: Doc = {};
    for (const [key, value] of Object.entries(body)) {
      if (key !== 'create' && !key.startsWith('$') && !GENERIC_FIELDS.has(key)) {
        options[key] = value;
      }
    }
    this.engine.createCollection(db, coll, options);
    return { ok: 1 };
  }
}
