import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, QueryFilter } from 'mongoose';
import { JOB_STATUSES, isTerminalStatus, type JobStatus } from '@cloudflow/contracts';
import {
  TenantRepository,
  decodeCursor,
  encodeCursor,
  isDuplicateKeyError,
  type PageResult,
  type WorkspaceScope,
} from '@cloudflow/persistence';
import {
  JOBS_COLLECTION,
  JOB_CANCELLATIONS_COLLECTION,
  JOB_IDEMPOTENCY_COLLECTION,
  JOB_OUTCOMES_COLLECTION,
  type IdempotencyDocument,
  type JobCancellationDocument,
  type JobDocument,
  type JobOutcomeDocument,
} from './job.schema';

const ACTIVE_STATUSES: JobStatus[] = ['QUEUED', 'RUNNING', 'CANCELLING'];

export interface JobListFilter {
  pipelineId?: string;
  status?: JobStatus;
}

/** Jobs, their single terminal outcome, cancellation requests and idempotency keys. */
@Injectable()
export class JobsRepository extends TenantRepository<JobDocument> implements OnModuleInit {
  constructor(
    @InjectModel(JOBS_COLLECTION) model: Model<JobDocument>,
    @InjectModel(JOB_OUTCOMES_COLLECTION) private readonly outcomes: Model<JobOutcomeDocument>,
    @InjectModel(JOB_IDEMPOTENCY_COLLECTION)
    private readonly idempotency: Model<IdempotencyDocument>,
    @InjectModel(JOB_CANCELLATIONS_COLLECTION)
    private readonly cancellations: Model<JobCancellationDocument>,
  ) {
    super(model);
  }

  /** A job as the scheduler and workers must see it: cancelled once a cancel was requested. */
  override async findById(scope: WorkspaceScope, id: string): Promise<JobDocument | null> {
    const job = await super.findById(scope, id);
    if (!job) return null;
    const [seen] = await this.withCancellations([job]);
    return seen ?? job;
  }

  /**
   * Records a cancel request for good (a unique insert, which no concurrent
   * write can undo), then marks the job CANCELLING unless it has finished.
   * Readers (findById, findActive) honour the request even when that second
   * write is lost to a concurrent update of the job.
   */
  async requestCancel(scope: WorkspaceScope, jobId: string, at: Date): Promise<void> {
    try {
      await this.cancellations.insertMany([
        { _id: jobId, workspaceId: scope.workspaceId, requestedAt: at },
      ]);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    await this.model
      .updateOne(this.scoped(scope, { _id: jobId, status: { $in: ACTIVE_STATUSES } }), {
        $set: { cancelRequested: true, status: 'CANCELLING' },
      })
      .exec();
  }

  /** Unfinished jobs whose document lost its cancel mark are shown with it. */
  private async withCancellations(jobs: JobDocument[]): Promise<JobDocument[]> {
    const unmarked = jobs.filter((j) => !j.cancelRequested && !isTerminalStatus(j.status));
    if (unmarked.length === 0) return jobs;
    const requested = await this.cancellations
      .find({ _id: { $in: unmarked.map((j) => j._id) } }, { _id: 1, workspaceId: 1 })
      .lean<Pick<JobCancellationDocument, '_id' | 'workspaceId'>[]>()
      .exec();
    const cancelled = new Set(requested.map((r) => `${r.workspaceId}/${r._id}`));
    return jobs.map((j) =>
      cancelled.has(`${j.workspaceId}/${j._id}`)
        ? { ...j, cancelRequested: true, status: 'CANCELLING' }
        : j,
    );
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Newest first: what a user looking at recent jobs expects. */
  async listNewestFirst(
    scope: WorkspaceScope,
    filter: JobListFilter,
    page: { limit: number; cursor?: string },
  ): Promise<PageResult<JobDocument>> {
    const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (page.cursor !== undefined && before === undefined) throw new Error('invalid page cursor');
    const query: QueryFilter<JobDocument> = this.scoped(scope, {
      ...(filter.pipelineId !== undefined && { pipelineId: filter.pipelineId }),
      ...(filter.status !== undefined && { status: filter.status }),
      ...(before !== undefined && { _id: { $lt: before } }),
    });
    const rows = await this.model
      .find(query)
      .sort({ _id: -1 })
      .limit(page.limit + 1)
      .lean<JobDocument[]>()
      .exec();
    const items = rows.slice(0, page.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last._id) : null };
  }

  /** Unfinished jobs of every workspace, a page at a time (after `afterId`), for the sweep. */
  async findActive(limit: number, afterId?: string): Promise<JobDocument[]> {
    const jobs = await this.model
      .find({
        status: { $in: ACTIVE_STATUSES },
        ...(afterId !== undefined && { _id: { $gt: afterId } }),
      })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<JobDocument[]>()
      .exec();
    return this.withCancellations(jobs);
  }

  /**
   * How many jobs of every workspace are in each state, for the operators'
   * metrics (an installation-wide figure, like the sweep's, not a tenant's).
   * One count per state on the `status` index, which FerretDB serves too.
   */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = await Promise.all(
      JOB_STATUSES.map(async (status) => {
        const count = await this.model.countDocuments({ status }).exec();
        return [status, count] as const;
      }),
    );
    return Object.fromEntries(counts) as Record<JobStatus, number>;
  }

  async update(
    scope: WorkspaceScope,
    jobId: string,
    set: Partial<Omit<JobDocument, '_id' | 'workspaceId'>>,
  ): Promise<void> {
    await this.model.updateOne(this.scoped(scope, { _id: jobId }), { $set: set }).exec();
  }

  /** QUEUED -> RUNNING; the reconciler repairs the rare race with a finishing job from its outcome. */
  async markRunning(scope: WorkspaceScope, jobId: string, startedAt: Date): Promise<void> {
    await this.model
      .updateOne(this.scoped(scope, { _id: jobId, status: 'QUEUED' }), {
        $set: { status: 'RUNNING', startedAt },
      })
      .exec();
  }

  /** Records the job's outcome; false when another outcome was recorded first. */
  async recordOutcome(
    scope: WorkspaceScope,
    outcome: Omit<JobOutcomeDocument, 'workspaceId'>,
  ): Promise<boolean> {
    try {
      await this.outcomes.insertMany([{ ...outcome, workspaceId: scope.workspaceId }]);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  findOutcome(scope: WorkspaceScope, jobId: string): Promise<JobOutcomeDocument | null> {
    return this.outcomes
      .findOne({ _id: jobId, workspaceId: scope.workspaceId })
      .lean<JobOutcomeDocument>()
      .exec();
  }

  findIdempotencyKey(scope: WorkspaceScope, key: string): Promise<IdempotencyDocument | null> {
    return this.idempotency
      .findOne({ _id: `${scope.workspaceId}:${key}`, workspaceId: scope.workspaceId })
      .lean<IdempotencyDocument>()
      .exec();
  }

  /**
   * Claims an idempotency key for a new job. Returns the existing record when
   * the key was used before (the caller answers with that job).
   */
  async claimIdempotencyKey(
    scope: WorkspaceScope,
    key: string,
    record: Omit<IdempotencyDocument, '_id' | 'workspaceId'>,
  ): Promise<IdempotencyDocument | null> {
    const _id = `${scope.workspaceId}:${key}`;
    try {
      await this.idempotency.insertMany([{ ...record, _id, workspaceId: scope.workspaceId }]);
      return null;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      return this.idempotency
        .findOne({ _id, workspaceId: scope.workspaceId })
        .lean<IdempotencyDocument>()
        .exec();
    }
  }
}
