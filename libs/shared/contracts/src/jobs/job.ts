import { z } from 'zod';
import { pageSchema } from '../pipelines/pipeline';
import { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from '../pipelines/pipeline-requests';

export const JOB_STATUSES = [
  'QUEUED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLING',
  'CANCELLED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type TerminalJobStatus = (typeof TERMINAL_JOB_STATUSES)[number];

export function isTerminalStatus(status: JobStatus): status is TerminalJobStatus {
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(status);
}

/** `table`: rows of a database table or collection rather than a file's records. */
export const INPUT_FORMATS = ['csv', 'jsonl', 'table'] as const;
export type InputFormatName = (typeof INPUT_FORMATS)[number];

export const MAX_JOB_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** Body of `POST /api/v1/jobs`. */
export const SubmitJobRequestSchema = z.strictObject({
  pipelineId: z.string().trim().min(1).max(100),
  /**
   * Overrides the pipeline's source: a path under the data root, or
   * `s3://bucket/key`, read through the workspace's S3 data source for that bucket.
   */
  input: z.string().trim().min(1).max(1024).optional(),
  timeoutSeconds: z.number().int().min(1).max(MAX_JOB_TIMEOUT_SECONDS).optional(),
});
export type SubmitJobRequest = z.infer<typeof SubmitJobRequestSchema>;

/** `Idempotency-Key`: what clients commonly send (UUIDs, ULIDs, opaque tokens). */
export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, { message: 'must be 1-200 visible ASCII characters' });

/** Query of `GET /api/v1/jobs`. */
export const ListJobsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, { message: 'is not a cursor returned by this API' })
    .optional(),
  pipelineId: z.string().min(1).max(100).optional(),
  status: z.enum(JOB_STATUSES).optional(),
});
export type ListJobsQuery = z.infer<typeof ListJobsQuerySchema>;

/** Where a job's rows go. */
export const JobOutputSchema = z.discriminatedUnion('kind', [
  /** CloudFlow's result store: the pipeline has no sink. */
  z.object({ kind: z.literal('result-store') }),
  /** `db://<name>`: a MongoDB collection CloudFlow manages. */
  z.object({ kind: z.literal('collection'), target: z.string() }),
  /** A CSV or JSON Lines file under the data root. */
  z.object({ kind: z.literal('file'), path: z.string(), format: z.enum(['csv', 'jsonl']) }),
  /** A table (PostgreSQL, MySQL) or collection (MongoDB) of a data source. */
  z.object({
    kind: z.literal('table'),
    dataSourceId: z.string(),
    driver: z.enum(['postgres', 'mysql', 'mongodb']),
    table: z.string(),
  }),
  /** A CSV or JSON Lines object in an S3 data source's bucket. */
  z.object({
    kind: z.literal('object'),
    dataSourceId: z.string(),
    bucket: z.string(),
    key: z.string(),
    format: z.enum(['csv', 'jsonl']),
  }),
]);
export type JobOutput = z.infer<typeof JobOutputSchema>;

export const JobProgressSchema = z.object({
  tasksTotal: z.number().int().nullable(),
  tasksDone: z.number().int(),
  rowsRead: z.number().int(),
  rowsWritten: z.number().int(),
  rowsRejected: z.number().int(),
  bytesRead: z.number().int(),
  bytesTotal: z.number().int(),
});
export type JobProgress = z.infer<typeof JobProgressSchema>;

export const JobErrorSchema = z.object({ message: z.string(), details: z.string().optional() });

/** A job as the API returns it (also the body of `GET /jobs/{id}/status`). */
export const JobSchema = z.object({
  jobId: z.string(),
  status: z.enum(JOB_STATUSES),
  pipelineId: z.string(),
  pipelineVersion: z.number().int(),
  /**
   * What the job reads: a path under the data root, `s3://bucket/key`, or a
   * table or collection (`format: table`) of the data source `dataSourceId`.
   */
  input: z.object({
    path: z.string(),
    format: z.enum(INPUT_FORMATS),
    dataSourceId: z.string().optional(),
  }),
  output: JobOutputSchema,
  progress: JobProgressSchema,
  /** Task attempts started, and how many of them were retries. */
  attempts: z.object({ total: z.number().int(), retries: z.number().int() }),
  error: JobErrorSchema.nullable(),
  rerunOf: z.string().optional(),
  timeoutSeconds: z.number().int(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof JobSchema>;
export const JobPageSchema = pageSchema(JobSchema);

/** `GET /jobs/{id}/results`: what was produced, and the rows where CloudFlow holds them. */
export const JobResultsSchema = z.object({
  jobId: z.string(),
  status: z.enum(JOB_STATUSES),
  output: JobOutputSchema,
  counts: z.object({
    rowsRead: z.number().int(),
    rowsWritten: z.number().int(),
    rowsRejected: z.number().int(),
  }),
  /** Output rows in input order; empty for file outputs (read the file). */
  rows: z.array(z.record(z.string(), z.unknown())),
  nextCursor: z.string().nullable(),
});
export type JobResults = z.infer<typeof JobResultsSchema>;

export const RejectedRowSchema = z.object({
  line: z.number().int(),
  reason: z.string(),
  row: z.record(z.string(), z.unknown()).optional(),
});
export const RejectedRowPageSchema = pageSchema(RejectedRowSchema);

/**
 * One line of `GET /jobs/{id}/logs`: what the scheduler or a worker did for
 * the job, oldest first. Task lines name the task, attempt and worker; the
 * figures that matter to the event come with it.
 */
export const JobLogEntrySchema = z.object({
  time: z.string().describe('When it happened (ISO 8601)'),
  level: z.enum(['info', 'warn', 'error']),
  service: z.enum(['job-scheduler', 'worker']),
  message: z.string(),
  taskId: z.string().optional(),
  attempt: z.number().int().optional(),
  workerId: z.string().optional(),
  tasks: z.number().int().optional().describe('How many tasks the input was planned into'),
  rowsRead: z.number().int().optional(),
  rowsWritten: z.number().int().optional(),
  rowsRejected: z.number().int().optional(),
  status: z.enum(JOB_STATUSES).optional().describe('The status a job finished with'),
  reason: z.string().optional().describe('Why a task or job failed, stopped or was re-dispatched'),
  durationMs: z.number().int().optional(),
  omitted: z
    .number()
    .int()
    .optional()
    .describe('Lines left out once a task attempt reached the bound of its log'),
});
export type JobLogEntry = z.infer<typeof JobLogEntrySchema>;
export const JobLogPageSchema = pageSchema(JobLogEntrySchema);

/**
 * Whether a job's output is one file or object assembled from its tasks'
 * parts (staged under the data root, then put in place by a finalize task).
 */
export function isAssembledOutput(
  output: JobOutput,
): output is Extract<JobOutput, { kind: 'file' | 'object' }> {
  return output.kind === 'file' || output.kind === 'object';
}
