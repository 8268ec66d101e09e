import { z } from 'zod';

/** What one task did; a job's figures are the sums over its committed tasks. */
export interface TaskCounts {
  rowsRead: number;
  rowsWritten: number;
  rowsRejected: number;
  bytesRead: number;
}

/** A fresh all-zero TaskCounts, for callers to add to. */
export function emptyTaskCounts(): TaskCounts {
  return { rowsRead: 0, rowsWritten: 0, rowsRejected: 0, bytesRead: 0 };
}

/**
 * A task's share of a database table: the rows whose split key is above
 * `after` and at most `upTo`, numbered from `firstLine`. Keys travel as JSON
 * text (MongoDB keys as canonical Extended JSON), so any key type survives
 * the ledger and Kafka unchanged; null means unbounded on that side.
 */
export const KeyRangeSchema = z.object({
  after: z.string().nullable(),
  upTo: z.string().nullable(),
  firstLine: z.number().int().min(1),
  /** Rows in the range when it was planned; a range that grew means the table changed. */
  rows: z.number().int().min(0),
});
export type KeyRange = z.infer<typeof KeyRangeSchema>;

/**
 * Where a job's input comes from, pinned at submission: a file under the
 * data root, one version (ETag) of an object in an S3 data source, or a
 * table or collection of a database data source with the key that splits it.
 */
export type JobInputSource =
  | { kind: 'file' }
  | { kind: 'object'; dataSourceId: string; bucket: string; key: string; etag: string }
  | {
      kind: 'table';
      dataSourceId: string;
      driver: 'postgres' | 'mysql' | 'mongodb';
      table: string;
      splitKey: string | null;
    };

/**
 * A unit of work on `cloudflow.tasks`. Small on purpose: the worker reads the
 * job (pipeline snapshot, input, output) from the store, and the data itself
 * from the source; Kafka never carries rows.
 */
export const TaskMessageSchema = z.object({
  v: z.literal(1),
  workspaceId: z.string(),
  jobId: z.string(),
  taskId: z.string(),
  seq: z.number().int().min(0),
  /** `range`: process a byte range or key range; `finalize`: assemble a file output from its parts. */
  kind: z.enum(['range', 'finalize']),
  attempt: z.number().int().min(1),
  range: z
    .object({
      start: z.number().int().min(0),
      end: z.number().int().min(0),
      firstLine: z.number().int().min(1),
    })
    .optional(),
  keys: KeyRangeSchema.optional(),
});
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

/**
 * Facts on `cloudflow.jobs.events`, keyed by job id so one scheduler replica
 * sees a job's events in order. Past tense: they report what happened.
 */
export const JobEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('task.started'),
    workspaceId: z.string(),
    jobId: z.string(),
    taskId: z.string(),
    attempt: z.number().int(),
  }),
  z.object({
    type: z.literal('task.committed'),
    workspaceId: z.string(),
    jobId: z.string(),
    taskId: z.string(),
    attempt: z.number().int(),
  }),
  z.object({
    type: z.literal('task.failed'),
    workspaceId: z.string(),
    jobId: z.string(),
    taskId: z.string(),
    attempt: z.number().int(),
  }),
  z.object({ type: z.literal('job.cancel-requested'), workspaceId: z.string(), jobId: z.string() }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;
