import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import {
  AppError,
  DEFAULT_WORKSPACE_ID,
  ErrorCode,
  hashApiKey,
  type ApiKey,
  type CreateApiKeyRequest,
  type MintedKeyRef,
  type Page,
  type Principal,
  type Scope,
} from '@cloudflow/contracts';
import { scopeOf, requireCursor, newId, type WorkspaceScope } from '@cloudflow/persistence';
import { requireAdmin, requireGrantableScopes } from '../admin-scope';
import type { ApiKeyDocument } from './api-key.schema';
import { WorkspacesRepository } from '../workspaces/workspaces.repository';
import { ApiKeysRepository } from './api-keys.repository';

export const BOOTSTRAP_API_KEY = Symbol('BOOTSTRAP_API_KEY');

/** The one answer for every refused key, so a caller cannot tell unknown from revoked. */
const INVALID_KEY = 'The API key is invalid, expired or revoked';

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly workspaces: WorkspacesRepository,
    @Inject(BOOTSTRAP_API_KEY) private readonly bootstrapKey: string | undefined,
  ) {}

  /** Makes the bootstrap admin key exist (idempotent; concurrent replicas agree). */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.bootstrapKey) return;
    const now = new Date();
    await this.workspaces.ensure({ _id: DEFAULT_WORKSPACE_ID, name: 'default', createdAt: now });
    const stored = await this.keys.ensure({
      _id: newId('key'),
      workspaceId: DEFAULT_WORKSPACE_ID,
      name: 'bootstrap admin key',
      keyHash: hashApiKey(this.bootstrapKey),
      displayPrefix: this.bootstrapKey.slice(0, 6),
      scopes: ['admin'],
      createdAt: now,
    });
    if (stored.revokedAt)
      this.logger.warn(
        { keyId: stored._id },
        'the bootstrap API key has been revoked and stays revoked',
      );
    else this.logger.log({ keyId: stored._id }, 'bootstrap API key is present');
  }

  /**
   * Issues a key in the caller's workspace. The secret is returned once and
   * stored only as its SHA-256. A key never gets scopes its creator lacks.
   */
  async create(
    principal: Principal,
    request: CreateApiKeyRequest,
    minted: MintedKeyRef,
    now = new Date(),
  ): Promise<ApiKey> {
    requireAdmin(principal);
    const scopes = [...new Set<Scope>(request.scopes ?? ['read', 'write'])];
    requireGrantableScopes(principal, scopes, 'A key');
    const expiresAt = request.expiresAt === undefined ? undefined : new Date(request.expiresAt);
    if (expiresAt && expiresAt <= now) {
      throw new AppError(ErrorCode.ValidationFailed, "field 'expiresAt' must be in the future");
    }
    const created = await this.issue(
      scopeOf(principal),
      request.name,
      scopes,
      minted,
      now,
      expiresAt,
    );
    this.logger.log({ keyId: created.id, scopes, by: principal.subject }, 'API key created');
    return created;
  }

  /** Records a key the gateway minted (its hash and prefix; auth never sees the secret). */
  async issue(
    scope: WorkspaceScope,
    name: string,
    scopes: Scope[],
    minted: MintedKeyRef,
    now: Date,
    expiresAt?: Date,
  ): Promise<ApiKey> {
    const doc: ApiKeyDocument = {
      _id: newId('key'),
      workspaceId: scope.workspaceId,
      name,
      keyHash: minted.keyHash,
      displayPrefix: minted.prefix,
      scopes,
      createdAt: now,
      ...(expiresAt && { expiresAt }),
    };
    await this.keys.insert(scope, doc);
    return toApiKey(doc);
  }

  async list(principal: Principal, limit: number, cursor?: string): Promise<Page<ApiKey>> {
    const scope = requireAdmin(principal);
    requireCursor(cursor);
    const page = await this.keys.findPage(scope, { limit, cursor });
    return { items: page.items.map(toApiKey), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, keyId: string): Promise<ApiKey> {
    return toApiKey(await this.find(requireAdmin(principal), keyId));
  }

  /** Revokes a key; idempotent. Gateways stop accepting it within their cache TTL. */
  async revoke(principal: Principal, keyId: string, now = new Date()): Promise<ApiKey> {
    const scope = requireAdmin(principal);
    const key = await this.find(scope, keyId);
    if (key.revokedAt) return toApiKey(key);
    const revoked = await this.keys.findOneAndUpdate(
      scope,
      { _id: keyId },
      { $set: { revokedAt: now } },
    );
    this.logger.log({ keyId, by: principal.subject }, 'API key revoked');
    return toApiKey(revoked ?? { ...key, revokedAt: now });
  }

  private async find(scope: WorkspaceScope, keyId: string): Promise<ApiKeyDocument> {
    const key = await this.keys.findById(scope, keyId);
    if (!key) throw AppError.notFound('API key', keyId);
    return key;
  }

  async verify(keyHash: string, now = new Date()): Promise<{ principal: Principal }> {
    const key = await this.keys.findByHashForAuthentication(keyHash);
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now))
      throw AppError.unauthorized(INVALID_KEY);
    return {
      principal: {
        workspaceId: key.workspaceId,
        subject: { kind: 'api-key', id: key._id },
        scopes: key.scopes,
      },
    };
  }
}

function toApiKey(doc: ApiKeyDocument): ApiKey {
  return {
    id: doc._id,
    name: doc.name,
    prefix: doc.displayPrefix,
    scopes: doc.scopes,
    createdAt: new Date(doc.createdAt).toISOString(),
    expiresAt: doc.expiresAt ? new Date(doc.expiresAt).toISOString() : null,
    revokedAt: doc.revokedAt ? new Date(doc.revokedAt).toISOString() : null,
  };
}
