import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import {
  databaseOf,
  decodeCursor,
  encodeCursor,
  insertIgnoringDuplicates,
  type PageResult,
  type WorkspaceScope,
} from '@cloudflow/persistence';

export const RESULT_ROWS_COLLECTION = 'job_rows';
export const REJECTED_ROWS_COLLECTION = 'job_rejects';

type Row = Record<string, unknown>;

/**
 * The id of the output row that came from input line `line` of job `jobId`.
 * Deterministic, so a task that runs twice writes the same documents (the
 * second insert is refused as a duplicate), and ordered like the input.
 */
export function rowId(jobId: string, line: number): string {
  return `${jobId}:${String(line).padStart(12, '0')}`;
}

/** `db://<name>` of workspace W lives in collection `sink.<W>.<name>`: tenants never share one. */
export function sinkCollectionName(workspaceId: string, target: string): string {
  return `sink.${workspaceId}.${target.replace(/^db:\/\//, '')}`;
}

export interface RejectedRowDocument {
  _id: string;
  workspaceId: string;
  jobId: string;
  line: number;
  reason: string;
  row?: Row;
}

/** Where a job's rows are written and read back from. */
export type RowDestination =
  | { kind: 'result-store' }
  | { kind: 'collection'; target: string }
  | { kind: 'rejected' };

/**
 * Rows CloudFlow stores itself: the result store, `db://` collections and
 * rejected rows. Writes are idempotent by deterministic `_id`.
 */
@Injectable()
export class RowStore {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  private db() {
    return databaseOf(this.connection);
  }

  /** Inserts documents, ignoring those already present (a retried task). */
  insertIdempotently(collection: string, docs: Row[]): Promise<void> {
    return insertIgnoringDuplicates(this.db().collection(collection), docs);
  }

  resultRowDocs(scope: WorkspaceScope, jobId: string, rows: Row[], lines: number[]): Row[] {
    return rows.map((row, i) => ({
      _id: rowId(jobId, lines[i] as number),
      workspaceId: scope.workspaceId,
      jobId,
      row,
    }));
  }

  rejectedDocs(
    scope: WorkspaceScope,
    jobId: string,
    rejections: { line: number; reason: string; row?: Row }[],
  ): Row[] {
    return rejections.map((r) => ({
      _id: rowId(jobId, r.line),
      workspaceId: scope.workspaceId,
      jobId,
      line: r.line,
      reason: r.reason,
      ...(r.row !== undefined && { row: r.row }),
    }));
  }

  collectionDocs(jobId: string, rows: Row[], lines: number[]): Row[] {
    return rows.map((row, i) => ({ ...row, _id: rowId(jobId, lines[i] as number), _job: jobId }));
  }

  collectionOf(scope: WorkspaceScope, destination: RowDestination): string {
    switch (destination.kind) {
      case 'result-store':
        return RESULT_ROWS_COLLECTION;
      case 'rejected':
        return REJECTED_ROWS_COLLECTION;
      case 'collection':
        return sinkCollectionName(scope.workspaceId, destination.target);
    }
  }

  /** A page of a job's rows in input order. */
  async page(
    scope: WorkspaceScope,
    jobId: string,
    destination: RowDestination,
    page: { limit: number; cursor?: string },
  ): Promise<PageResult<Row>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (page.cursor !== undefined && (after === undefined || !after.startsWith(`${jobId}:`))) {
      throw new Error('invalid page cursor');
    }
    const filter: Row = { _id: { $gt: after ?? `${jobId}:`, $lt: `${jobId};` } };
    // The shared collections hold every workspace's rows; a sink collection is per workspace.
    if (destination.kind !== 'collection') filter['workspaceId'] = scope.workspaceId;
    const docs = await this.db()
      .collection<Row & { _id: string }>(this.collectionOf(scope, destination))
      .find(filter as never)
      .sort({ _id: 1 })
      .limit(page.limit + 1)
      .toArray();
    const items = docs.slice(0, page.limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: docs.length > page.limit && last ? encodeCursor(String(last._id)) : null,
    };
  }
}
