import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { AppError, hashApiKey } from '@cloudflow/contracts';
import type { WorkspaceDocument } from '../workspaces/workspace.schema';
import type { WorkspacesRepository } from '../workspaces/workspaces.repository';
import type { ApiKeyDocument } from './api-key.schema';
import type { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const KEY_HASH = hashApiKey('cf_live_0123456789abcdef');
const INVALID_KEY = 'The API key is invalid, expired or revoked';

function storedKey(overrides: Partial<ApiKeyDocument> = {}): ApiKeyDocument {
  return {
    _id: 'key_0192f1c4-7a3b-7c1d-9e2f-0123456789ab',
    workspaceId: 'ws_acme',
    name: 'ci key',
    keyHash: KEY_HASH,
    displayPrefix: 'cf_liv',
    scopes: ['read', 'write'],
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    ...overrides,
  };
}

function setup(bootstrapKey?: string) {
  const keys = {
    findByHashForAuthentication: jest.fn((_keyHash: string) =>
      Promise.resolve<ApiKeyDocument | null>(null),
    ),
    ensure: jest.fn((doc: ApiKeyDocument) => Promise.resolve(doc)),
  };
  const workspaces = { ensure: jest.fn((_doc: WorkspaceDocument) => Promise.resolve()) };
  const service = new ApiKeysService(
    keys as unknown as ApiKeysRepository,
    workspaces as unknown as WorkspacesRepository,
    bootstrapKey,
  );
  return { keys, workspaces, service };
}

async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail with an AppError');
}

describe('ApiKeysService', () => {
  let logs: jest.SpyInstance[];

  beforeEach(() => {
    logs = (['log', 'warn', 'error'] as const).map((level) =>
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined),
    );
  });

  afterEach(() => {
    for (const spy of logs) spy.mockRestore();
  });

  describe('verify', () => {
    it('answers the principal of an active key: its workspace, its id and its scopes', async () => {
      const { keys, service } = setup();
      keys.findByHashForAuthentication.mockResolvedValue(storedKey());

      await expect(service.verify(KEY_HASH, NOW)).resolves.toEqual({
        principal: {
          workspaceId: 'ws_acme',
          subject: { kind: 'api-key', id: 'key_0192f1c4-7a3b-7c1d-9e2f-0123456789ab' },
          scopes: ['read', 'write'],
        },
      });
      expect(keys.findByHashForAuthentication).toHaveBeenCalledWith(KEY_HASH);
    });

    it('accepts a key that has not expired yet', async () => {
      const { keys, service } = setup();
      keys.findByHashForAuthentication.mockResolvedValue(
        storedKey({ expiresAt: new Date(NOW.getTime() + 1) }),
      );
      await expect(service.verify(KEY_HASH, NOW)).resolves.toMatchObject({
        principal: { workspaceId: 'ws_acme' },
      });
    });

    const refusals: [string, ApiKeyDocument | null][] = [
      ['an unknown key', null],
      ['a revoked key', storedKey({ revokedAt: new Date('2025-05-01T00:00:00.000Z') })],
      ['an expired key', storedKey({ expiresAt: new Date('2025-05-01T00:00:00.000Z') })],
      ['a key expiring this very moment', storedKey({ expiresAt: NOW })],
      [
        'a revoked key that has not expired',
        storedKey({ revokedAt: NOW, expiresAt: new Date('2030-01-01') }),
      ],
    ];

    it.each(refusals)('refuses %s with 4010 and the same words', async (_label, stored) => {
      const { keys, service } = setup();
      keys.findByHashForAuthentication.mockResolvedValue(stored);

      const error = await rejectionOf(service.verify(KEY_HASH, NOW));

      expect(error.code).toBe(4010);
      expect(error.status).toBe(401);
      expect(error.message).toBe('Unauthorized');
      expect(error.details).toBe(INVALID_KEY);
    });

    it('gives a caller no way to tell unknown, revoked and expired keys apart', async () => {
      const wires = await Promise.all(
        refusals.map(async ([, stored]) => {
          const { keys, service } = setup();
          keys.findByHashForAuthentication.mockResolvedValue(stored);
          return JSON.stringify((await rejectionOf(service.verify(KEY_HASH, NOW))).toWire());
        }),
      );
      expect(new Set(wires).size).toBe(1);
    });
  });

  describe('onApplicationBootstrap', () => {
    const BOOTSTRAP_KEY = 'cf-bootstrap-admin-key-9f8e7d6c5b4a';

    it('ensures the default workspace and an admin key stored as the SHA-256 of the bootstrap key', async () => {
      const { keys, workspaces, service } = setup(BOOTSTRAP_KEY);

      await service.onApplicationBootstrap();

      expect(workspaces.ensure).toHaveBeenCalledWith(
        expect.objectContaining({
          _id: 'ws_default',
          name: 'default',
          createdAt: expect.any(Date),
        }),
      );
      expect(keys.ensure).toHaveBeenCalledTimes(1);
      const doc = keys.ensure.mock.calls[0]![0];
      expect(doc).toEqual({
        _id: expect.stringMatching(/^key_/),
        workspaceId: 'ws_default',
        name: 'bootstrap admin key',
        keyHash: createHash('sha256').update(BOOTSTRAP_KEY, 'utf8').digest('hex'),
        displayPrefix: BOOTSTRAP_KEY.slice(0, 6),
        scopes: ['admin'],
        createdAt: expect.any(Date),
      });
    });

    it('never hands the plaintext key to the repository', async () => {
      const { keys, workspaces, service } = setup(BOOTSTRAP_KEY);
      await service.onApplicationBootstrap();
      const handedOver = JSON.stringify([keys.ensure.mock.calls, workspaces.ensure.mock.calls]);
      expect(handedOver).not.toContain(BOOTSTRAP_KEY);
      // Not even most of it: only a short prefix to recognise the key in a list.
      expect(handedOver).not.toContain(BOOTSTRAP_KEY.slice(0, 12));
    });

    it('creates the workspace before the key that belongs to it', async () => {
      const { keys, workspaces, service } = setup(BOOTSTRAP_KEY);
      await service.onApplicationBootstrap();
      expect(workspaces.ensure.mock.invocationCallOrder[0]).toBeLessThan(
        keys.ensure.mock.invocationCallOrder[0]!,
      );
    });

    it('warns when the stored bootstrap key has been revoked', async () => {
      const { keys, service } = setup(BOOTSTRAP_KEY);
      keys.ensure.mockImplementation((doc: ApiKeyDocument) =>
        Promise.resolve({ ...doc, revokedAt: NOW }),
      );
      await service.onApplicationBootstrap();
      expect(logs[1]).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('revoked'));
    });

    it.each([undefined, ''])('does nothing without a bootstrap key (%p)', async (bootstrapKey) => {
      const { keys, workspaces, service } = setup(bootstrapKey);
      await service.onApplicationBootstrap();
      expect(keys.ensure).not.toHaveBeenCalled();
      expect(workspaces.ensure).not.toHaveBeenCalled();
    });
  });
});
