import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@cloudflow/persistence';
import { WORKSPACES_COLLECTION, type WorkspaceDocument } from './workspace.schema';

/** Workspaces are the tenants themselves, so this repository is not tenant-scoped. */
@Injectable()
export class WorkspacesRepository {
  constructor(
    @InjectModel(WORKSPACES_COLLECTION) private readonly model: Model<WorkspaceDocument>,
  ) {}

  async insert(doc: WorkspaceDocument): Promise<void> {
    await this.model.insertMany([doc]);
  }

  findById(id: string): Promise<WorkspaceDocument | null> {
    return this.model.findOne({ _id: id }).lean<WorkspaceDocument>().exec();
  }

  async ensure(doc: WorkspaceDocument): Promise<void> {
    try {
      await this.model.updateOne({ _id: doc._id }, { $setOnInsert: doc }, { upsert: true }).exec();
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
}
