import { MongoBulkWriteError, type Document, type MongoClient } from 'mongodb';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { toConnectorError } from './errors';
import type { Row, TableSinkOptions, TableRowSink } from './model';
import { mongoCollectionName } from './names';
import { openMongo } from './sessions';

const DUPLICATE_KEY = 11000;

/** A row's document id: its own `_id`, else one made of the job and its row number, the same in every attempt. */
export function documentId(row: Row, jobId: string, line: number): unknown {
  const own = row['_id'];
  return own === undefined || own === null ? `${jobId}:${String(line).padStart(12, '0')}` : own;
}

/** A bulk insert whose only failures are documents that are already there (from an earlier attempt). */
function onlyDuplicates(error: unknown): boolean {
  if (error instanceof MongoBulkWriteError) {
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    return (
      error.writeConcernError === undefined &&
      writeErrors.length > 0 &&
      writeErrors.every((e) => e.code === DUPLICATE_KEY)
    );
  }
  return (error as { code?: unknown }).code === DUPLICATE_KEY;
}

/**
 * A task's rows into a MongoDB collection, exactly once: every document's
 * `_id` is fixed by the row, so a retried task inserts the same ids again and
 * the duplicates are simply skipped. Needs no transaction (FerretDB has none):
 * a single-document insert is atomic, and commit and abort only close.
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
    try {
      this.client ??= await openMongo(this.config, this.options);
      const documents = rows.map(
        (row, i): Document => ({
          ...row,
          _id: documentId(row, this.options.jobId, lines[i] ?? 0),
        }),
      );
      await this.client
        .db(this.config.database)
        .collection(mongoCollectionName(this.spec.table))
        .insertMany(documents, { ordered: false });
    } catch (error) {
      if (onlyDuplicates(error)) return;
      throw toConnectorError('mongodb', error, { config: this.config, table: this.spec.table });
    }
  }

  commit(): Promise<void> {
    return this.close();
  }

  abort(): Promise<void> {
    return this.close();
  }

  private async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}
