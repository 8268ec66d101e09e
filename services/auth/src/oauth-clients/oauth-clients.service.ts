import { Injectable, Logger } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  type CreateOAuthClientRequest,
  type OAuthClient,
  type Page,
  type Principal,
} from '@cloudflow/contracts';
import { requireCursor, newId } from '@cloudflow/persistence';
import { requireAdmin, requireGrantableScopes } from '../admin-scope';
import type { OAuthClientDocument } from './oauth-client.schema';
import { OAuthClientsRepository } from './oauth-clients.repository';

/** OAuth clients of a workspace, registered by its admins. */
@Injectable()
export class OAuthClientsService {
  private readonly logger = new Logger(OAuthClientsService.name);

  constructor(private readonly clients: OAuthClientsRepository) {}

  async create(
    principal: Principal,
    request: CreateOAuthClientRequest,
    secret: { keyHash: string } | undefined,
    now = new Date(),
  ): Promise<OAuthClient> {
    const scope = requireAdmin(principal);
    requireGrantableScopes(principal, request.scopes, 'A client');
    if ((request.type === 'confidential') !== (secret !== undefined)) {
      throw new AppError(
        ErrorCode.ValidationFailed,
        'a confidential client needs a secret and a public one has none',
      );
    }
    const doc: OAuthClientDocument = {
      _id: newId('cli'),
      workspaceId: scope.workspaceId,
      name: request.name,
      type: request.type,
      redirectUris: [...new Set(request.redirectUris)],
      grants: [...new Set(request.grants)],
      scopes: [...new Set(request.scopes)],
      ...(secret && { secretHash: secret.keyHash }),
      createdAt: now,
    };
    await this.clients.insert(scope, doc);
    this.logger.log({ clientId: doc._id, by: principal.subject }, 'OAuth client registered');
    return toOAuthClient(doc);
  }

  async list(principal: Principal, limit: number, cursor?: string): Promise<Page<OAuthClient>> {
    const scope = requireAdmin(principal);
    requireCursor(cursor);
    const page = await this.clients.findPage(scope, { limit, cursor });
    return { items: page.items.map(toOAuthClient), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, clientId: string): Promise<OAuthClient> {
    const scope = requireAdmin(principal);
    const client = await this.clients.findById(scope, clientId);
    if (!client) throw AppError.notFound('OAuth client', clientId);
    return toOAuthClient(client);
  }

  /** Deletes the client; its tokens stop working within the gateways' cache TTL. */
  async delete(principal: Principal, clientId: string): Promise<{ deleted: true }> {
    const scope = requireAdmin(principal);
    if (!(await this.clients.deleteOne(scope, { _id: clientId }))) {
      throw AppError.notFound('OAuth client', clientId);
    }
    this.logger.log({ clientId, by: principal.subject }, 'OAuth client deleted');
    return { deleted: true };
  }
}

function toOAuthClient(doc: OAuthClientDocument): OAuthClient {
  return {
    id: doc._id,
    name: doc.name,
    type: doc.type,
    redirectUris: doc.redirectUris,
    grants: doc.grants,
    scopes: doc.scopes,
    createdAt: new Date(doc.createdAt).toISOString(),
  };
}
