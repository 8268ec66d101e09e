import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { TenantRepository, isDuplicateKeyError } from '@cloudflow/persistence';
import { API_KEYS_COLLECTION, type ApiKeyDocument } from './api-key.schema';

@Injectable()
export class ApiKeysRepository extends TenantRepository<ApiKeyDocument> implements OnModuleInit {
  constructor(@InjectModel(API_KEYS_COLLECTION) model: Model<ApiKeyDocument>) {
    super(model);
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
  }

  /**
   * The one deliberately unscoped lookup: authentication is how the workspace
   * becomes known. The hash is unique across all workspaces.
   */
  findByHashForAuthentication(keyHash: string): Promise<ApiKeyDocument | null> {
    return this.model.findOne({ keyHash }).lean<ApiKeyDocument>().exec();
  }

  /** Inserts the key unless one with the same hash exists; safe under concurrent callers. */
  async ensure(doc: ApiKeyDocument): Promise<ApiKeyDocument> {
    try {
      await this.model
        .updateOne({ keyHash: doc.keyHash }, { $setOnInsert: doc }, { upsert: true })
        .exec();
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const stored = await this.findByHashForAuthentication(doc.keyHash);
    if (!stored) throw new Error('API key vanished right after it was ensured');
    return stored;
  }
}
