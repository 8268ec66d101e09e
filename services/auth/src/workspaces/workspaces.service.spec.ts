import { Logger } from '@nestjs/common';
import { AppError, type ApiKey, type Principal } from '@cloudflow/contracts';
import type { ApiKeysService } from '../api-keys/api-keys.service';
import type { WorkspaceDocument } from './workspace.schema';
import type { WorkspacesRepository } from './workspaces.repository';
import { WorkspacesService } from './workspaces.service';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const REF = { keyHash: 'b'.repeat(64), prefix: 'cfk_abcdef' };
const platformAdmin: Principal = {
  workspaceId: 'ws_default',
  subject: { kind: 'api-key', id: 'key_root' },
  scopes: ['admin'],
};

function setup() {
  const stored = new Map<string, WorkspaceDocument>();
  const workspaces = {
    insert: jest.fn((doc: WorkspaceDocument) => {
      stored.set(doc._id, doc);
      return Promise.resolve();
    }),
    findById: jest.fn((id: string) => Promise.resolve(stored.get(id) ?? null)),
  };
  const apiKeys = {
    issue: jest.fn(
      (_scope: { workspaceId: string }, name: string): Promise<ApiKey> =>
        Promise.resolve({
          id: 'key_new',
          name,
          prefix: 'cfk_abcdef',
          scopes: ['admin'],
          createdAt: NOW.toISOString(),
          expiresAt: null,
          revokedAt: null,
        }),
    ),
  };
  const service = new WorkspacesService(
    workspaces as unknown as WorkspacesRepository,
    apiKeys as unknown as ApiKeysService,
  );
  return { service, workspaces, apiKeys };
}

describe('WorkspacesService', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('creates a workspace with a ws_ id and issues its first admin key inside it', async () => {
    const { service, apiKeys } = setup();
    const created = await service.create(platformAdmin, { name: 'acme' }, REF, NOW);
    expect(created.id).toMatch(/^ws_[0-9a-f-]{36}$/);
    expect(created).toMatchObject({ name: 'acme', createdAt: NOW.toISOString() });
    expect(apiKeys.issue).toHaveBeenCalledWith(
      { workspaceId: created.id },
      'acme admin key',
      ['admin'],
      REF,
      NOW,
    );
    expect(created.adminKey.id).toBe('key_new');
    await expect(service.current({ ...platformAdmin, workspaceId: created.id })).resolves.toEqual({
      id: created.id,
      name: 'acme',
      createdAt: NOW.toISOString(),
    });
  });

  it.each([
    ['an admin of another workspace', { ...platformAdmin, workspaceId: 'ws_acme' }],
    ['a non-admin of the default workspace', { ...platformAdmin, scopes: ['read', 'write'] }],
  ] as [string, Principal][])('refuses %s with 403/4030', async (_who, principal) => {
    const { service, workspaces } = setup();
    const error = await service.create(principal, { name: 'x' }, REF).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(4030);
    expect(workspaces.insert).not.toHaveBeenCalled();
  });
});
