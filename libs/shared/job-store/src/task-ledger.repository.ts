import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { emptyTaskCounts, type TaskCounts } from '@cloudflow/contracts';
import { isDuplicateKeyError } from '@cloudflow/persistence';
import {
  TASKS_COLLECTION,
  TASK_ATTEMPTS_COLLECTION,
  TASK_CLAIMS_COLLECTION,
  TASK_COMMITS_COLLECTION,
  TASK_FAILURES_COLLECTION,
  type AttemptDocument,
  type ClaimDocument,
  type CommitDocument,
  type FailureDocument,
  type TaskDocument,
} from './task.schema';

/** `<jobId>.<seq>`, zero-padded so ids sort in input order. */
export function taskId(jobId: string, seq: number): string {
  return `${jobId}.${String(seq).padStart(6, '0')}`;
}

/** `<taskId>#<attempt>`, zero-padded so a task's attempts sort by number. */
export function attemptId(task: string, attempt: number): string {
  return `${task}#${String(attempt).padStart(3, '0')}`;
}

/** Everything the ledger knows about one job, read in one go. */
export interface JobLedgerSnapshot {
  tasks: TaskDocument[];
  attempts: AttemptDocument[];
  claims: ClaimDocument[];
  failures: FailureDocument[];
  /** Committed attempts only (fences are not outcomes). */
  commits: CommitDocument[];
}

/**
 * The task ledger (see task.schema.ts). Insert methods return false when the
 * fact was already recorded by someone else: that is the protocol, not an error.
 */
@Injectable()
export class TaskLedger implements OnModuleInit {
  constructor(
    @InjectModel(TASKS_COLLECTION) private readonly tasks: Model<TaskDocument>,
    @InjectModel(TASK_ATTEMPTS_COLLECTION) private readonly attempts: Model<AttemptDocument>,
    @InjectModel(TASK_CLAIMS_COLLECTION) private readonly claims: Model<ClaimDocument>,
    @InjectModel(TASK_FAILURES_COLLECTION) private readonly failures: Model<FailureDocument>,
    @InjectModel(TASK_COMMITS_COLLECTION) private readonly commits: Model<CommitDocument>,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const model of this.models()) await model.createIndexes();
  }

  /** Records planned tasks; tasks already recorded (a re-plan) are left as they are. */
  async planTasks(tasks: TaskDocument[]): Promise<void> {
    if (tasks.length === 0) return;
    try {
      await this.tasks.insertMany(tasks, { ordered: false });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  dispatch(attempt: AttemptDocument): Promise<boolean> {
    return insertOnce(this.attempts, attempt);
  }

  claim(claim: ClaimDocument): Promise<boolean> {
    return insertOnce(this.claims, claim);
  }

  recordFailure(failure: FailureDocument): Promise<boolean> {
    return insertOnce(this.failures, failure);
  }

  /**
   * Takes attempt N's commit slot for its output. `fenced`: the scheduler
   * handed the task on first, so this attempt's output must not count.
   */
  async commit(commit: Omit<CommitDocument, '_id' | 'outcome'>): Promise<'committed' | 'fenced'> {
    const _id = attemptId(commit.taskId, commit.attempt);
    const doc: CommitDocument = { ...commit, _id, outcome: 'committed' };
    if (await insertOnce(this.commits, doc)) return 'committed';
    const slot = await this.commits.findOne({ _id }).lean<CommitDocument>().exec();
    return slot?.outcome === 'committed' ? 'committed' : 'fenced';
  }

  /**
   * Fences attempt N off before attempt N+1 is dispatched. False when the
   * attempt committed first: then the task is done and needs no new attempt.
   */
  async fence(task: TaskDocument, attempt: number, now: Date): Promise<boolean> {
    const _id = attemptId(task._id, attempt);
    const fence: CommitDocument = {
      _id,
      workspaceId: task.workspaceId,
      jobId: task.jobId,
      taskId: task._id,
      outcome: 'fenced',
      seq: task.seq,
      kind: task.kind,
      attempt,
      workerId: 'scheduler',
      counts: emptyTaskCounts(),
      committedAt: now,
    };
    if (await insertOnce(this.commits, fence)) return true;
    const slot = await this.commits.findOne({ _id }).lean<CommitDocument>().exec();
    return slot?.outcome === 'fenced';
  }

  /** The lease holder's heartbeat. Only the holder writes its claim, so no race. */
  async renew(claimId: string, progress: TaskCounts, now: Date): Promise<void> {
    await this.claims.updateOne({ _id: claimId }, { $set: { renewedAt: now, progress } }).exec();
  }

  /** Notes that an unclaimed attempt was published again. */
  async touchAttempt(id: string, now: Date): Promise<void> {
    await this.attempts.updateOne({ _id: id }, { $set: { dispatchedAt: now } }).exec();
  }

  async latestAttempt(task: string): Promise<number> {
    const latest = await this.attempts
      .findOne({ _id: { $gt: `${task}#`, $lt: `${task}$` } })
      .sort({ _id: -1 })
      .lean<AttemptDocument>()
      .exec();
    return latest?.attempt ?? 0;
  }

  async isCommitted(task: string): Promise<boolean> {
    return (await this.commits.countDocuments({ taskId: task, outcome: 'committed' }).exec()) > 0;
  }

  findTask(task: string): Promise<TaskDocument | null> {
    return this.tasks.findOne({ _id: task }).lean<TaskDocument>().exec();
  }

  async snapshot(jobId: string): Promise<JobLedgerSnapshot> {
    const byJob = { jobId };
    const [tasks, attempts, claims, failures, commits] = await Promise.all([
      this.tasks.find(byJob).lean<TaskDocument[]>().exec(),
      this.attempts.find(byJob).lean<AttemptDocument[]>().exec(),
      this.claims.find(byJob).lean<ClaimDocument[]>().exec(),
      this.failures.find(byJob).lean<FailureDocument[]>().exec(),
      this.commits
        .find({ ...byJob, outcome: 'committed' })
        .lean<CommitDocument[]>()
        .exec(),
    ]);
    return { tasks, attempts, claims, failures, commits };
  }

  /** The job's planned range task with the highest seq: where a re-plan of a table resumes. */
  lastPlannedRange(jobId: string): Promise<TaskDocument | null> {
    return this.tasks
      .findOne({ jobId, kind: 'range' })
      .sort({ seq: -1 })
      .lean<TaskDocument>()
      .exec();
  }

  /** Commits of a job in input order (the file assembler reads them). */
  committedRanges(jobId: string): Promise<CommitDocument[]> {
    return this.commits
      .find({ jobId, kind: 'range', outcome: 'committed' })
      .sort({ seq: 1 })
      .lean<CommitDocument[]>()
      .exec();
  }

  private models(): Model<never>[] {
    return [this.tasks, this.attempts, this.claims, this.failures, this.commits] as never;
  }
}

async function insertOnce<T>(model: Model<T>, doc: T): Promise<boolean> {
  try {
    await model.insertMany([doc]);
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}
