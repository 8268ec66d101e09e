import { Injectable, Logger } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  type CreateUserRequest,
  type Page,
  type Principal,
  type Scope,
  type User,
} from '@cloudflow/contracts';
import { requireCursor, isDuplicateKeyError, newId } from '@cloudflow/persistence';
import { requireAdmin, requireGrantableScopes } from '../admin-scope';
import type { UserDocument } from './user.schema';
import { UsersRepository } from './users.repository';

/** Users of a workspace, created by its admins; they sign in on the OAuth pages. */
@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);

  constructor(private readonly users: UsersRepository) {}

  async create(
    principal: Principal,
    request: Omit<CreateUserRequest, 'password'>,
    passwordHash: string,
    now = new Date(),
  ): Promise<User> {
    const scope = requireAdmin(principal);
    const scopes = [...new Set<Scope>(request.scopes ?? ['read', 'write'])];
    requireGrantableScopes(principal, scopes, 'A user');
    const doc: UserDocument = {
      _id: newId('usr'),
      workspaceId: scope.workspaceId,
      username: request.username,
      passwordHash,
      scopes,
      createdAt: now,
    };
    try {
      await this.users.insert(scope, doc);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      throw new AppError(
        ErrorCode.Conflict,
        `The username '${request.username}' is taken in this workspace`,
      );
    }
    this.logger.log({ userId: doc._id, by: principal.subject }, 'user created');
    return toUser(doc);
  }

  async list(principal: Principal, limit: number, cursor?: string): Promise<Page<User>> {
    const scope = requireAdmin(principal);
    requireCursor(cursor);
    const page = await this.users.findPage(scope, { limit, cursor });
    return { items: page.items.map(toUser), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, userId: string): Promise<User> {
    const scope = requireAdmin(principal);
    const user = await this.users.findById(scope, userId);
    if (!user) throw AppError.notFound('User', userId);
    return toUser(user);
  }

  /** Deletes the user; tokens granted by them stop working within the gateways' cache TTL. */
  async delete(principal: Principal, userId: string): Promise<{ deleted: true }> {
    const scope = requireAdmin(principal);
    if (!(await this.users.deleteOne(scope, { _id: userId }))) {
      throw AppError.notFound('User', userId);
    }
    this.logger.log({ userId, by: principal.subject }, 'user deleted');
    return { deleted: true };
  }
}

function toUser(doc: UserDocument): User {
  return {
    id: doc._id,
    username: doc.username,
    scopes: doc.scopes,
    createdAt: new Date(doc.createdAt).toISOString(),
  };
}
