import { Schema } from 'mongoose';
import type {
  ErrorPolicy,
  InputFormatName,
  JobInputSource,
  JobOutput,
  JobProgress,
  JobStatus,
  PipelineStep,
  TerminalJobStatus,
} from '@cloudflow/contracts';
import type { StoredTraceContext } from '@cloudflow/observability';
import type { TenantDocument } from '@cloudflow/persistence';

export interface JobInput {
  /**
   * As the user wrote it, e.g. `/fake/data.csv` (resolved under the data root
   * when read), `s3://bucket/key`, or a table's name.
   */
  path: string;
  format: InputFormatName;
  /** Absent on jobs submitted before data sources: a file. */
  source?: JobInputSource;
  csv: { delimiter: string; quote: string; header: boolean };
  /** Column names from the header (CSV with header), else null. */
  columns: string[] | null;
  /** Byte offset and line of the first data record (after a BOM and header). */
  dataStart: number;
  firstDataLine: number;
  /** Size of the file or object; 0 for tables. */
  bytesTotal: number;
  /** Modification time at submission: a file changed since then is refused, not half-read. */
  mtimeMs: number;
}

export interface JobError {
  message: string;
  details?: string;
}

/**
 * A job: what to run (the pipeline pinned at submission), on what, and where
 * its state stands. Written by the scheduler only; progress is derived from
 * task commits and claims, never counted here (see ADR 0003).
 */
export interface JobDocument extends TenantDocument {
  pipelineId: string;
  pipelineVersion: number;
  steps: PipelineStep[];
  errorPolicy: ErrorPolicy;
  input: JobInput;
  output: JobOutput;
  status: JobStatus;
  /** Known once planning has finished; null while it runs. */
  tasksTotal: number | null;
  /** Planning's heartbeat: a planner that stops renewing it is replaced. */
  planRenewedAt: Date | null;
  cancelRequested: boolean;
  timeoutSeconds: number;
  deadlineAt: Date;
  error: JobError | null;
  /** Figures frozen when the job finished, so listings need not read the ledger. */
  final: { progress: JobProgress; attempts: { total: number; retries: number } } | null;
  rerunOf?: string;
  /**
   * The trace context of the request that submitted the job, written once
   * with it: planning and every dispatch of its tasks continue that trace.
   * Absent on jobs submitted before it was kept, or with tracing off.
   */
  traceContext?: StoredTraceContext;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The single terminal outcome of a job: inserting it is the compare-and-set. */
export interface JobOutcomeDocument extends TenantDocument {
  status: TerminalJobStatus;
  error: JobError | null;
  finishedAt: Date;
}

/** `<workspaceId>:<Idempotency-Key>` -> the job the first request created. */
export interface IdempotencyDocument extends TenantDocument {
  jobId: string;
  fingerprint: string;
  createdAt: Date;
}

/**
 * A cancellation request, kept apart from the job document: FerretDB can
 * lose one of two concurrent updates of a document (the planner's heartbeat
 * against the cancel, say), never a unique insert (ADR 0003).
 */
export interface JobCancellationDocument extends TenantDocument {
  requestedAt: Date;
}

export const JOBS_COLLECTION = 'jobs';
export const JOB_CANCELLATIONS_COLLECTION = 'job_cancellations';
export const JOB_OUTCOMES_COLLECTION = 'job_outcomes';
export const JOB_IDEMPOTENCY_COLLECTION = 'job_idempotency_keys';

export const JobSchema = new Schema<JobDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    pipelineId: { type: String, required: true },
    pipelineVersion: { type: Number, required: true },
    steps: { type: Schema.Types.Mixed, required: true },
    errorPolicy: { type: Schema.Types.Mixed, required: true },
    input: { type: Schema.Types.Mixed, required: true },
    output: { type: Schema.Types.Mixed, required: true },
    status: { type: String, required: true },
    tasksTotal: { type: Number, default: null },
    planRenewedAt: { type: Date, default: null },
    cancelRequested: { type: Boolean, default: false },
    timeoutSeconds: { type: Number, required: true },
    deadlineAt: { type: Date, required: true },
    error: { type: Schema.Types.Mixed, default: null },
    final: { type: Schema.Types.Mixed, default: null },
    rerunOf: { type: String },
    traceContext: { type: Schema.Types.Mixed },
    createdAt: { type: Date, required: true },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { collection: JOBS_COLLECTION, versionKey: false, minimize: false },
);
// Serves "jobs of a pipeline, newest first": workspaceId = ? AND pipelineId = ? ORDER BY _id DESC.
JobSchema.index({ workspaceId: 1, pipelineId: 1, _id: -1 });
// Serves "jobs in a state, newest first" and the scheduler's sweep of unfinished jobs.
JobSchema.index({ status: 1, workspaceId: 1, _id: -1 });

export const JobOutcomeSchema = new Schema<JobOutcomeDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    status: { type: String, required: true },
    error: { type: Schema.Types.Mixed, default: null },
    finishedAt: { type: Date, required: true },
  },
  { collection: JOB_OUTCOMES_COLLECTION, versionKey: false, minimize: false },
);

export const JobCancellationSchema = new Schema<JobCancellationDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    requestedAt: { type: Date, required: true },
  },
  { collection: JOB_CANCELLATIONS_COLLECTION, versionKey: false },
);

export const IdempotencySchema = new Schema<IdempotencyDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    jobId: { type: String, required: true },
    fingerprint: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: JOB_IDEMPOTENCY_COLLECTION, versionKey: false },
);
