import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppError, DEFAULT_WORKSPACE_ID, hashApiKey, type Principal } from '@cloudflow/contracts';
import { newId } from '@cloudflow/persistence';
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
