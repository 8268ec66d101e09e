import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, QueryFilter } from 'mongoose';
import { TenantRepository, type WorkspaceScope } from '@cloudflow/persistence';
import { DATA_SOURCES_COLLECTION, type DataSourceDocument } from './datasource.schema';

@Injectable()
export class DataSourcesRepository
  extends TenantRepository<DataSourceDocument>
  implements OnModuleInit
{
  constructor(@InjectModel(DATA_SOURCES_COLLECTION) model: Model<DataSourceDocument>) {
    super(model);
  }

  /** Up to `limit` data sources of the workspace matching `filter`, oldest first. */
  async findMany(
    scope: WorkspaceScope,
    filter: QueryFilter<DataSourceDocument>,
    limit: number,
  ): Promise<DataSourceDocument[]> {
    return this.model
      .find(this.scoped(scope, filter))
      .sort({ _id: 1 })
      .limit(limit)
      .lean<DataSourceDocument[]>()
      .exec();
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
  }
}
