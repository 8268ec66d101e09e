import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { TenantRepository } from '@cloudflow/persistence';
import { USERS_COLLECTION, type UserDocument } from './user.schema';

@Injectable()
export class UsersRepository extends TenantRepository<UserDocument> implements OnModuleInit {
  constructor(@InjectModel(USERS_COLLECTION) model: Model<UserDocument>) {
    super(model);
  }

  async onModuleInit(): Promise<void> {
    // Usernames were once unique across workspaces; that index must go.
    await this.model.collection.dropIndex('username_1').catch(() => undefined);
    await this.model.createIndexes();
  }

  /** Sign-in, in the workspace of the application being signed in to. */
  findByUsernameForSignIn(workspaceId: string, username: string): Promise<UserDocument | null> {
    return this.model.findOne({ workspaceId, username }).lean<UserDocument>().exec();
  }

  /** A grant's holder, looked up by id alone when its token is checked. */
  findByIdForGrant(userId: string): Promise<UserDocument | null> {
    return this.model.findOne({ _id: userId }).lean<UserDocument>().exec();
  }
}
