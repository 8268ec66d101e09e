import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { PipelinePatch } from '@cloudflow/contracts';
import { TenantRepository, type WorkspaceScope } from '@cloudflow/persistence';
import { PIPELINES_COLLECTION, type PipelineDocument } from './pipeline.schema';

@Injectable()
export class PipelinesRepository extends TenantRepository<PipelineDocument> implements OnModuleInit {
  constructor(@InjectModel(PIPELINES_COLLECTION) model: Model<PipelineDocument>) {
    super(model);
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
  }

  /**
   * Applies a patch only if the stored version is still `expectedVersion`,
   * bumping the version in the same atomic update. Null when the pipeline is
   * gone or was changed meanwhile.
   */
  applyPatch(
    scope: WorkspaceScope,
    id: string,
    expectedVersion: number,
    patch: PipelinePatch,
    now: Date,
  ): Promise<PipelineDocument | null> {
    return this.findOneAndUpdate(
      scope,
      { _id: id, version: expectedVersion },
      { $set: { ...patch, updatedAt: now }, $inc: { version: 1 } },
    );
  }
}
