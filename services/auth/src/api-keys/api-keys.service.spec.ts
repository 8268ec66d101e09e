import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { AppError, hashApiKey, mintApiKey, type Principal } from '@cloudflow/contracts';
import type { WorkspaceDocument } from '../workspaces/workspace.schema';
import type { WorkspacesRepository } from '../workspaces/workspaces.repository';
import type { ApiKeyDocument } from './api-key.schema';
import type { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const KEY_HASH = hashApiKey('cf_live_0123456789abcdef');
const INVALID_KEY = 'The API key is invalid, expired or revoked';
const REF = { keyHash: 'a'.repeat(64), prefix: 'cfk_abcdef' };

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
    insert: jest.fn((_scope: { workspaceId: string }, doc: ApiKeyDocument) => Promise.resolve(doc)),
    findById: jest.fn((_scope: { workspaceId: string }, _id: string) =>
      Promise.resolve<ApiKeyDocument | null>(null),
    ),
    findOneAndUpdate: jest.fn(
      (_scope: { workspaceId: string }, _filter: object, update: { $set: object }) =>
        Promise.resolve<ApiKeyDocument | null>({ ...storedKey(), ...update.$set }),
    ),
    findPage: jest.fn(() => Promise.resolve({ items: [storedKey()], nextCursor: null })),
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

  describe('managing keys', () => {
    const admin: Principal = {
      workspaceId: 'ws_acme',
      subject: { kind: 'api-key', id: 'key_admin' },
      scopes: ['admin'],
    };
    const writer: Principal = { ...admin, scopes: ['read', 'write'] };

    it('mints cfk_ keys whose secret stays with the caller: only hash and prefix go on', () => {
      const a = mintApiKey();
      const b = mintApiKey();
      expect(a.key).toMatch(/^cfk_[A-Za-z0-9_-]{43}$/);
      expect(a.keyHash).toBe(createHash('sha256').update(a.key).digest('hex'));
      expect(a.prefix).toBe(a.key.slice(0, 10));
      expect(a.key).not.toBe(b.key);
    });

    it('records a minted key by its hash, in the caller workspace, read+write by default', async () => {
      const { keys, service } = setup();
      const minted = mintApiKey();
      const ref = { keyHash: minted.keyHash, prefix: minted.prefix };
      const created = await service.create(admin, { name: 'ci' }, ref, NOW);
      expect(created).toMatchObject({
        name: 'ci',
        prefix: minted.prefix,
        scopes: ['read', 'write'],
        createdAt: NOW.toISOString(),
        expiresAt: null,
        revokedAt: null,
      });
      const [scope, stored] = keys.insert.mock.calls[0]!;
      expect(scope).toEqual({ workspaceId: 'ws_acme' });
      expect(stored.keyHash).toBe(minted.keyHash);
      expect(JSON.stringify([stored, created])).not.toContain(minted.key);
    });

    it('refuses key management to a credential without admin (403/4030)', async () => {
      const { service, keys } = setup();
      const error = await rejectionOf(service.create(writer, { name: 'x' }, REF, NOW));
      expect(error.code).toBe(4030);
      expect((await rejectionOf(service.list(writer, 20))).code).toBe(4030);
      expect((await rejectionOf(service.revoke(writer, 'key_1'))).code).toBe(4030);
      expect(keys.insert).not.toHaveBeenCalled();
    });

    it('refuses an expiry in the past with 400/4002', async () => {
      const { service } = setup();
      const error = await rejectionOf(
        service.create(admin, { name: 'x', expiresAt: '2025-05-01T00:00:00Z' }, REF, NOW),
      );
      expect([error.code, error.details]).toEqual([
        4002,
        "field 'expiresAt' must be in the future",
      ]);
    });

    it('lists keys without secrets or hashes', async () => {
      const { service } = setup();
      const page = await service.list(admin, 20);
      expect(page.items).toEqual([
        {
          id: storedKey()._id,
          name: 'ci key',
          prefix: 'cf_liv',
          scopes: ['read', 'write'],
          createdAt: '2025-01-01T00:00:00.000Z',
          expiresAt: null,
          revokedAt: null,
        },
      ]);
      expect(JSON.stringify(page)).not.toContain(KEY_HASH);
    });

    it('revokes a key of the workspace and answers 404 for another workspace’s key', async () => {
      const { service, keys } = setup();
      keys.findById.mockResolvedValueOnce(storedKey());
      const revoked = await service.revoke(admin, storedKey()._id, NOW);
      expect(revoked.revokedAt).toBe(NOW.toISOString());
      expect(keys.findOneAndUpdate.mock.calls[0]![0]).toEqual({ workspaceId: 'ws_acme' });
      const missing = await rejectionOf(service.revoke(admin, 'key_other'));
      expect(missing.code).toBe(4040);
    });
  });
});
