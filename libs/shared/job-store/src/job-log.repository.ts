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

export const JOB_LOGS_COLLECTION = 'job_logs';

export const JOB_LOG_SERVICES = ['job-scheduler', 'worker'] as const;
export type JobLogService = (typeof JOB_LOG_SERVICES)[number];
export type JobLogLevel = 'info' | 'warn' | 'error';

/**
 * The figures a job log line may carry. Nothing else reaches the store: no
 * row contents, no configuration, no credentials.
 */
export interface JobLogFields {
  /** How many tasks the input was planned into. */
  tasks?: number;
  rowsRead?: number;
  rowsWritten?: number;
  rowsRejected?: number;
  /** A finished job's status. */
  status?: string;
  /** Why a task failed or stopped, a job failed, a task was handed on. */
  reason?: string;
  durationMs?: number;
  /** Lines left out of the log once a task attempt reached its bound. */
  omitted?: number;
}

/**
 * One line of a job's log. `_id` is `<jobId>:<time in µs, 16 digits>:<writer>`:
 * unique across writers, and in time order within a job, so a job's lines
 * page oldest first by `_id` alone (see JobLogWriter).
 */
export interface JobLogDocument extends JobLogFields {
  _id: string;
  workspaceId: string;
  jobId: string;
  time: Date;
  level: JobLogLevel;
  service: JobLogService;
  message: string;
  taskId?: string;
  attempt?: number;
  workerId?: string;
}

/** The id of a job's log line written at `micros` (µs since the epoch) by writer `writer`. */
export function jobLogId(jobId: string, micros: number, writer: string): string {
  return `${jobId}:${String(micros).padStart(16, '0')}:${writer}`;
}

/**
 * `job_logs`: what the scheduler and the workers did for a job, in the words
 * a user reads. Insert-only (unique `_id`s, the one write FerretDB makes
 * atomic); read a page at a time in time order, within one workspace.
 */
@Injectable()
export class JobLogRepository {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  private collection() {
    return databaseOf(this.connection).collection<JobLogDocument>(JOB_LOGS_COLLECTION);
  }

  /** Inserts lines; one already present (a batch written again after a lost reply) is skipped. */
  insert(lines: JobLogDocument[]): Promise<void> {
    return insertIgnoringDuplicates(this.collection(), lines);
  }

  /** A page of a job's lines, oldest first. */
  async page(
    scope: WorkspaceScope,
    jobId: string,
    page: { limit: number; cursor?: string },
  ): Promise<PageResult<JobLogDocument>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (page.cursor !== undefined && (after === undefined || !after.startsWith(`${jobId}:`))) {
      throw new Error('invalid page cursor');
    }
    const docs = await this.collection()
      .find({
        _id: { $gt: after ?? `${jobId}:`, $lt: `${jobId};` },
        workspaceId: scope.workspaceId,
      })
      .sort({ _id: 1 })
      .limit(page.limit + 1)
      .toArray();
    const items = docs.slice(0, page.limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: docs.length > page.limit && last ? encodeCursor(last._id) : null,
    };
  }
}
