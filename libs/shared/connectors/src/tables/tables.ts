import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import type { KeyIndex, TableDriverImpl } from './driver';
import { toConnectorError } from './errors';
import type {
  KeyRange,
  ResolvedTableSpec,
  TableAccess,
  TableBatch,
  TableShape,
  TableSpec,
} from './model';
import { mongoTables } from './mongo-collection';
import { mysqlTables } from './mysql-table';
import { postgresTables } from './postgres-table';
import { checkRowCount, tableChanged } from './split-key';
import { jsonBytes } from './values';

/**
 * Database tables (and MongoDB collections) as a pipeline's input: checked at
 * submission, split by the scheduler into key ranges of about the same number
 * of rows, each read by one task in a fixed order, so a row's number — its
 * identity for exactly-once output — is the same in every attempt.
 */

const DRIVERS: Record<TableSpec['driver'], TableDriverImpl> = {
  postgres: postgresTables,
  mysql: mysqlTables,
  mongodb: mongoTables,
};

function driverOf(config: ConnectionConfig, spec: TableSpec): TableDriverImpl {
  if (config.driver !== spec.driver) {
    throw new ConnectorError(
      `the data source is ${config.driver}, not ${spec.driver} as the table asks`,
      true,
    );
  }
  return DRIVERS[spec.driver];
}

/** A spec as it came back from storage: an absent split key is none. */
function resolvedSpec(spec: ResolvedTableSpec): ResolvedTableSpec {
  return { driver: spec.driver, table: spec.table, splitKey: spec.splitKey ?? null };
}

/** The error to report: the task's own stop reason when it was stopped, else the failure in plain words. */
function failure(error: unknown, config: ConnectionConfig, spec: TableSpec, access: TableAccess) {
  if (access.signal?.aborted) return access.signal.reason as unknown;
  return toConnectorError(spec.driver, error, { config, table: spec.table });
}

/** At job submission: the table exists and can be read; resolves the split key. Throws ConnectorError. */
export async function inspectTable(
  config: ConnectionConfig,
  spec: TableSpec,
  access: TableAccess,
): Promise<TableShape> {
  try {
    return await driverOf(config, spec).inspect(config, spec, access);
  } catch (error) {
    throw failure(error, config, spec, access);
  }
}

/**
 * Keyset chunking: ranges of about `chunkRows` rows each, covering every row
 * once, bounded above by the greatest key when planning began (rows added
 * later belong to no range). Each boundary is the key `chunkRows` rows after
 * the previous one, found by the server walking the key's index, so planning
 * never reads the rows themselves. Streams ranges as found; an empty table
 * yields none, a table without a split key one range covering all of it.
 */
export async function* planKeyRanges(
  config: ConnectionConfig,
  spec: ResolvedTableSpec,
  access: TableAccess & {
    chunkRows: number;
    /**
     * A re-plan continues after the last range already planned (its upper key,
     * and the row number after it) instead of starting over: the table may have
     * changed since, and ranges planned once must keep their bounds and numbers.
     */
    resumeAfter?: { after: unknown; firstLine: number };
  },
): AsyncGenerator<KeyRange> {
  const chunkRows = checkRowCount(access.chunkRows, 'chunkRows');
  const resolved = resolvedSpec(spec);
  // A table read as one range has nothing left to plan once that range exists.
  if (resolved.splitKey === null && access.resumeAfter) return;
  let index: KeyIndex | undefined;
  try {
    index = await driverOf(config, resolved).openKeyIndex(config, resolved, access);
    yield* resolved.splitKey === null
      ? wholeTable(index)
      : keyRanges(index, chunkRows, access.signal, access.resumeAfter);
  } catch (error) {
    throw failure(error, config, spec, access);
  } finally {
    await index?.close();
  }
}

async function* wholeTable(index: KeyIndex): AsyncGenerator<KeyRange> {
  const rows = await index.countAll();
  if (rows > 0) yield { after: null, upTo: null, firstLine: 1, rows };
}

async function* keyRanges(
  index: KeyIndex,
  chunkRows: number,
  signal: AbortSignal | undefined,
  resumeAfter: { after: unknown; firstLine: number } | undefined,
): AsyncGenerator<KeyRange> {
  const last = await index.lastKey();
  if (last === undefined) return;
  let after: unknown = resumeAfter?.after ?? null;
  let firstLine = resumeAfter?.firstLine ?? 1;
  for (;;) {
    signal?.throwIfAborted();
    const boundary = await index.keyAt(after, last, chunkRows);
    if (boundary === undefined) {
      const rows = await index.count(after, last);
      if (rows > 0) yield { after, upTo: last, firstLine, rows };
      return;
    }
    // With a non-unique key, rows sharing the boundary's key beyond the chunk belong to this range too.
    const rows = index.unique ? chunkRows : await index.count(after, boundary);
    yield { after, upTo: boundary, firstLine, rows };
    firstLine += rows;
    after = boundary;
  }
}

/**
 * Reads one range in key order, in batches of `batchRows`, numbering rows
 * `firstLine`, `firstLine + 1`, ...; only one batch is in memory at a time.
 * A range that now holds more rows than were planned would number some rows
 * like the next range's: that is a permanent error asking for a re-run.
 */
export async function* readKeyRange(
  config: ConnectionConfig,
  spec: ResolvedTableSpec,
  range: KeyRange,
  access: TableAccess & { batchRows: number },
): AsyncGenerator<TableBatch> {
  const batchRows = checkRowCount(access.batchRows, 'batchRows');
  const resolved = resolvedSpec(spec);
  try {
    checkRange(resolved, range);
    let read = 0;
    const rows = driverOf(config, resolved).readRows(config, resolved, range, access, batchRows);
    for await (const batch of rows) {
      access.signal?.throwIfAborted();
      if (read + batch.length > range.rows) throw tableChanged(spec.table);
      const lines = batch.map((_, i) => range.firstLine + read + i);
      read += batch.length;
      yield { rows: batch, lines, malformed: [], bytes: jsonBytes(batch) };
    }
  } catch (error) {
    throw failure(error, config, spec, access);
  }
}

function checkRange(spec: ResolvedTableSpec, range: KeyRange): void {
  if (!Number.isSafeInteger(range.firstLine) || range.firstLine < 1) {
    throw new ConnectorError('the range has no valid first row number', true);
  }
  if (!Number.isSafeInteger(range.rows) || range.rows < 0) {
    throw new ConnectorError('the range has no valid row count', true);
  }
  if (spec.splitKey === null && (range.after !== null || range.upTo !== null)) {
    throw new ConnectorError(
      'a table without a split key is read as one range, without bounds',
      true,
    );
  }
}
