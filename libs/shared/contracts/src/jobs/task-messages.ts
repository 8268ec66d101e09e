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
  /** `range`: process a byte range; `finalize`: assemble a file output from its parts. */
  kind: z.enum(['range', 'finalize']),
  attempt: z.number().int().min(1),
  range: z
    .object({
      start: z.number().int().min(0),
      end: z.number().int().min(0),
      firstLine: z.number().int().min(1),
    })
    .optional(),
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
