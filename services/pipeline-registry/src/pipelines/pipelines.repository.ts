import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import {
  TenantRepository,
  isDuplicateKeyError,
  type PageRequest,
  type PageResult,
  type WorkspaceScope,
} from '@cloudflow/persistence';
import {
  PIPELINES_COLLECTION,
  PIPELINE_VERSIONS_COLLECTION,
  versionId,
  type PipelineDocument,
  type PipelineVersionDocument,
} from './pipeline.schema';

/**
 * Pipelines as an append-only history of versions plus a projection of the
 * latest live version for listing. Appending version N+1 is the atomic step
 * (unique `_id`), on MongoDB and FerretDB alike; the projection follows it.
 */
@Injectable()
export class PipelinesRepository
  extends TenantRepository<PipelineDocument>
  implements OnModuleInit
{
  constructor(
    @InjectModel(PIPELINES_COLLECTION) model: Model<PipelineDocument>,
    @InjectModel(PIPELINE_VERSIONS_COLLECTION)
    private readonly versions: Model<PipelineVersionDocument>,
  ) {
    super(model);
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
    await this.versions.createIndexes();
  }

  /** The newest version (possibly a tombstone), or null if the pipeline never existed here. */
  latestVersion(
    scope: WorkspaceScope,
    pipelineId: string,
  ): Promise<PipelineVersionDocument | null> {
    return this.versions
      .findOne({ workspaceId: scope.workspaceId, pipelineId })
      .sort({ version: -1 })
      .lean<PipelineVersionDocument>()
      .exec();
  }

  /** Writes a new version; false when another writer took that version number first. */
  async appendVersion(
    scope: WorkspaceScope,
    version: Omit<PipelineVersionDocument, '_id' | 'workspaceId'>,
  ): Promise<boolean> {
    try {
      await this.versions.insertMany(
        [
          {
            ...version,
            _id: versionId(version.pipelineId, version.version),
            workspaceId: scope.workspaceId,
          },
        ],
        { lean: true },
      );
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /**
   * Makes the listing show `version` (a tombstone hides the pipeline). Only
   * moves forward: a projection of an older version than the stored one,
   * tombstones included, changes nothing. The history stays the source of truth.
   */
  async project(
    scope: WorkspaceScope,
    version: Omit<PipelineVersionDocument, '_id' | 'workspaceId'>,
  ): Promise<void> {
    const projection = {
      name: version.name,
      steps: version.steps,
      version: version.version,
      createdAt: version.createdAt,
      updatedAt: version.updatedAt,
      deleted: version.deleted === true,
      ...(version.description !== undefined && { description: version.description }),
      ...(version.errorPolicy !== undefined && { errorPolicy: version.errorPolicy }),
    };
    const filter = { _id: version.pipelineId, workspaceId: scope.workspaceId };
    const result = await this.model
      .updateOne(
        { ...filter, version: { $lt: version.version } },
        {
          $set: projection,
          ...((version.description === undefined || version.errorPolicy === undefined) && {
            $unset: {
              ...(version.description === undefined && { description: 1 }),
              ...(version.errorPolicy === undefined && { errorPolicy: 1 }),
            },
          }),
        },
      )
      .exec();
    if (result.matchedCount > 0) return;
    try {
      await this.model.insertMany([{ ...projection, ...filter }], { lean: true });
    } catch (error) {
      // Already projected at this version or a newer one.
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  /** Live pipelines of the workspace, in creation order. */
  listLive(scope: WorkspaceScope, page: PageRequest): Promise<PageResult<PipelineDocument>> {
    return this.findPage(scope, page, { deleted: { $ne: true } });
  }
}
