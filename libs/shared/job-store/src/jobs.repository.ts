import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, QueryFilter } from 'mongoose';
import type { JobStatus } from '@cloudflow/contracts';
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
  JOB_IDEMPOTENCY_COLLECTION,
  JOB_OUTCOMES_COLLECTION,
  type IdempotencyDocument,
  type JobDocument,
  type JobOutcomeDocument,
} from './job.schema';

const ACTIVE_STATUSES: JobStatus[] = ['QUEUED', 'RUNNING', 'CANCELLING'];

export interface JobListFilter {
  pipelineId?: string;
  status?: JobStatus;
}

/** Jobs, their single terminal outcome, and idempotency keys. */
@Injectable()
export class JobsRepository extends TenantRepository<JobDocument> implements OnModuleInit {
  constructor(
    @InjectModel(JOBS_COLLECTION) model: Model<JobDocument>,
    @InjectModel(JOB_OUTCOMES_COLLECTION) private readonly outcomes: Model<JobOutcomeDocument>,
    @InjectModel(JOB_IDEMPOTENCY_COLLECTION)
    private readonly idempotency: Model<IdempotencyDocument>,
  ) {
    super(model);
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
    return this.model
      .find({
        status: { $in: ACTIVE_STATUSES },
        ...(afterId !== undefined && { _id: { $gt: afterId } }),
      })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<JobDocument[]>()
      .exec();
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
