import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { TenantRepository } from '@cloudflow/persistence';
import { DATA_SOURCES_COLLECTION, type DataSourceDocument } from './datasource.schema';

@Injectable()
export class DataSourcesRepository
  extends TenantRepository<DataSourceDocument>
  implements OnModuleInit
{
  constructor(@InjectModel(DATA_SOURCES_COLLECTION) model: Model<DataSourceDocument>) {
    super(model);
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
  }
}
