import { Injectable, Logger } from '@nestjs/common';
import {
  AppError,
  DEFAULT_WORKSPACE_ID,
  ErrorCode,
  hasScope,
  type CreateWorkspaceRequest,
  type MintedKeyRef,
  type Principal,
  type Workspace,
  type WorkspaceWithKey,
} from '@cloudflow/contracts';
import { newId } from '@cloudflow/persistence';
import { ApiKeysService } from '../api-keys/api-keys.service';
import type { WorkspaceDocument } from './workspace.schema';
import { WorkspacesRepository } from './workspaces.repository';

/** Tenants. The default workspace's admins run the platform and create the others. */
@Injectable()
export class WorkspacesService {
  private readonly logger = new Logger(WorkspacesService.name);

  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async create(
    principal: Principal,
    request: CreateWorkspaceRequest,
    adminKey: MintedKeyRef,
    now = new Date(),
  ): Promise<WorkspaceWithKey> {
    if (principal.workspaceId !== DEFAULT_WORKSPACE_ID || !hasScope(principal, 'admin')) {
      throw new AppError(
        ErrorCode.Forbidden,
        'Only an admin of the default workspace can create workspaces',
      );
    }
    const doc: WorkspaceDocument = { _id: newId('ws'), name: request.name, createdAt: now };
    await this.workspaces.insert(doc);
    const key = await this.apiKeys.issue(
      { workspaceId: doc._id },
      `${request.name} admin key`,
      ['admin'],
      adminKey,
      now,
    );
    this.logger.log({ workspaceId: doc._id, by: principal.subject }, 'workspace created');
    return { ...toWorkspace(doc), adminKey: key };
  }

  async current(principal: Principal): Promise<Workspace> {
    const doc = await this.workspaces.findById(principal.workspaceId);
    if (!doc) throw AppError.notFound('Workspace', principal.workspaceId);
    return toWorkspace(doc);
  }
}

function toWorkspace(doc: WorkspaceDocument): Workspace {
  return { id: doc._id, name: doc.name, createdAt: new Date(doc.createdAt).toISOString() };
}
