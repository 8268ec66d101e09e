import { Schema } from 'mongoose';
import type { KeyRange, TaskCounts } from '@cloudflow/contracts';

/**
 * The task ledger. Every step a task goes through is a document whose `_id`
 * is the fact it records, so the step happens once however many replicas try:
 * a unique insert is the only compare-and-set MongoDB and FerretDB both honour
 * (ADR 0003). Ids: task `<jobId>.<seq>`, attempt-scoped `<taskId>#<attempt>`.
 */

export interface TaskRange {
  start: number;
  end: number;
  firstLine: number;
}

/** A planned task (written by the planner, idempotently). */
export interface TaskDocument {
  _id: string;
  workspaceId: string;
  jobId: string;
  seq: number;
  kind: 'range' | 'finalize';
  range?: TaskRange;
  /** Table inputs: the key range instead of a byte range. */
  keys?: KeyRange;
  createdAt: Date;
}

/** Attempt N of a task was dispatched. Only one dispatcher can create it. */
export interface AttemptDocument {
  _id: string;
  workspaceId: string;
  jobId: string;
  taskId: string;
  attempt: number;
  dispatchedAt: Date;
}

/**
 * A worker holds attempt N: the lease. Only its holder updates it (heartbeats
 * with progress); the scheduler expires it when `renewedAt` grows old.
 */
export interface ClaimDocument {
  _id: string;
  workspaceId: string;
  jobId: string;
  taskId: string;
  attempt: number;
  workerId: string;
  claimedAt: Date;
  renewedAt: Date;
  progress: TaskCounts;
}

/** Attempt N failed; `permanent` failures fail the job, others are retried. */
export interface FailureDocument {
  _id: string;
  workspaceId: string;
  jobId: string;
  taskId: string;
  attempt: number;
  permanent: boolean;
  message: string;
  failedAt: Date;
}

/**
 * The commit slot of attempt N (`_id` `<taskId>#<attempt>`), taken exactly
 * once: by the attempt's worker committing its output, or by the scheduler
 * fencing the attempt off before it dispatches attempt N+1. Whoever inserts
 * first wins, so a stale worker (paused, partitioned) can never commit after
 * its task was handed on, and a committed attempt is never re-run.
 */
export interface CommitDocument {
  _id: string;
  workspaceId: string;
  jobId: string;
  taskId: string;
  outcome: 'committed' | 'fenced';
  seq: number;
  kind: 'range' | 'finalize';
  attempt: number;
  /** The committing worker, or `scheduler` for a fence. */
  workerId: string;
  counts: TaskCounts;
  committedAt: Date;
}

export const TASKS_COLLECTION = 'tasks';
export const TASK_ATTEMPTS_COLLECTION = 'task_attempts';
export const TASK_CLAIMS_COLLECTION = 'task_claims';
export const TASK_FAILURES_COLLECTION = 'task_failures';
export const TASK_COMMITS_COLLECTION = 'task_commits';

const options = { versionKey: false, minimize: false } as const;
const base = {
  _id: { type: String, required: true },
  workspaceId: { type: String, required: true },
  jobId: { type: String, required: true },
};

export const TaskSchema = new Schema<TaskDocument>(
  {
    ...base,
    seq: { type: Number, required: true },
    kind: { type: String, required: true },
    range: { type: Schema.Types.Mixed },
    keys: { type: Schema.Types.Mixed },
    createdAt: { type: Date, required: true },
  },
  { ...options, collection: TASKS_COLLECTION },
);
export const AttemptSchema = new Schema<AttemptDocument>(
  {
    ...base,
    taskId: { type: String, required: true },
    attempt: { type: Number, required: true },
    dispatchedAt: { type: Date, required: true },
  },
  { ...options, collection: TASK_ATTEMPTS_COLLECTION },
);
export const ClaimSchema = new Schema<ClaimDocument>(
  {
    ...base,
    taskId: { type: String, required: true },
    attempt: { type: Number, required: true },
    workerId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    renewedAt: { type: Date, required: true },
    progress: { type: Schema.Types.Mixed, required: true },
  },
  { ...options, collection: TASK_CLAIMS_COLLECTION },
);
export const FailureSchema = new Schema<FailureDocument>(
  {
    ...base,
    taskId: { type: String, required: true },
    attempt: { type: Number, required: true },
    permanent: { type: Boolean, required: true },
    message: { type: String, required: true },
    failedAt: { type: Date, required: true },
  },
  { ...options, collection: TASK_FAILURES_COLLECTION },
);
export const CommitSchema = new Schema<CommitDocument>(
  {
    ...base,
    taskId: { type: String, required: true },
    outcome: { type: String, required: true },
    seq: { type: Number, required: true },
    kind: { type: String, required: true },
    attempt: { type: Number, required: true },
    workerId: { type: String, required: true },
    counts: { type: Schema.Types.Mixed, required: true },
    committedAt: { type: Date, required: true },
  },
  { ...options, collection: TASK_COMMITS_COLLECTION },
);
// Each ledger collection is read per job ("everything about job J"): index jobId.
for (const schema of [TaskSchema, AttemptSchema, ClaimSchema, FailureSchema, CommitSchema]) {
  (schema as Schema).index({ jobId: 1 });
}
// Serves "is task T committed?", asked by workers before they claim.
CommitSchema.index({ taskId: 1 });
