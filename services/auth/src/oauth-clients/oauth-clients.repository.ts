import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { TenantRepository } from '@cloudflow/persistence';
import { OAUTH_CLIENTS_COLLECTION, type OAuthClientDocument } from './oauth-client.schema';

@Injectable()
export class OAuthClientsRepository
  extends TenantRepository<OAuthClientDocument>
  implements OnModuleInit
{
  constructor(@InjectModel(OAUTH_CLIENTS_COLLECTION) model: Model<OAuthClientDocument>) {
    super(model);
  }

  async onModuleInit(): Promise<void> {
    await this.model.createIndexes();
  }

  /** The OAuth endpoints know a client by its `client_id` alone. */
  findByClientId(clientId: string): Promise<OAuthClientDocument | null> {
    return this.model.findOne({ _id: clientId }).lean<OAuthClientDocument>().exec();
  }
}
