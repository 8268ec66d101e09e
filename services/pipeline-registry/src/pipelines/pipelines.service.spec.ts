import { AppError, type Principal } from '@cloudflow/contracts';
import {
  encodeCursor,
  type PageRequest,
  type PageResult,
  type WorkspaceScope,
} from '@cloudflow/persistence';
import type { PipelineDocument, PipelineVersionDocument } from './pipeline.schema';
import type { PipelinesRepository } from './pipelines.repository';
import { PipelinesService } from './pipelines.service';

const SPEC_CREATE_BODY = {
  name: 'MyFakePipeline',
  steps: [
    { type: 'source', config: { path: '/fake/data.csv' } },
    { type: 'transform', config: { operation: 'uppercase' } },
    { type: 'sink', config: { target: 'db://fake-database' } },
  ],
};
const SPEC_UPDATE_BODY = { steps: [{ type: 'transform', config: { operation: 'reverse' } }] };

const writer: Principal = {
  workspaceId: 'ws_a',
  subject: { kind: 'api-key', id: 'key_w' },
  scopes: ['write'],
};
const admin: Principal = {
  workspaceId: 'ws_a',
  subject: { kind: 'api-key', id: 'key_a' },
  scopes: ['admin'],
};
const reader: Principal = {
  workspaceId: 'ws_a',
  subject: { kind: 'api-key', id: 'key_r' },
  scopes: ['read'],
};

const T0 = new Date('2025-01-01T00:00:00.000Z');
const T1 = new Date('2025-01-02T00:00:00.000Z');
const PIPELINE_ID = 'pl_0192f1c4-7a3b-7c1d-9e2f-0123456789ab';

/** A version as the history stores it. */
function version(overrides: Partial<PipelineVersionDocument> = {}): PipelineVersionDocument {
  const pipelineId = overrides.pipelineId ?? PIPELINE_ID;
  const number = overrides.version ?? 1;
  return {
    _id: `${pipelineId}@${number}`,
    workspaceId: 'ws_a',
    pipelineId,
    name: 'MyFakePipeline',
    steps: SPEC_CREATE_BODY.steps as PipelineVersionDocument['steps'],
    version: number,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** A row of the listing projection. */
function projected(overrides: Partial<PipelineDocument> = {}): PipelineDocument {
  return {
    _id: PIPELINE_ID,
    workspaceId: 'ws_a',
    name: 'MyFakePipeline',
    steps: SPEC_CREATE_BODY.steps as PipelineDocument['steps'],
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

type NewVersion = Omit<PipelineVersionDocument, '_id' | 'workspaceId'>;

function mockRepository() {
  return {
    latestVersion: jest.fn((_scope: WorkspaceScope, _pipelineId: string) =>
      Promise.resolve<PipelineVersionDocument | null>(null),
    ),
    appendVersion: jest.fn((_scope: WorkspaceScope, _version: NewVersion) => Promise.resolve(true)),
    project: jest.fn((_scope: WorkspaceScope, _version: NewVersion) => Promise.resolve()),
    listLive: jest.fn((_scope: WorkspaceScope, _page: PageRequest) =>
      Promise.resolve<PageResult<PipelineDocument>>({ items: [], nextCursor: null }),
    ),
  };
}

type MockRepository = ReturnType<typeof mockRepository>;

function setup(): { repo: MockRepository; service: PipelinesService } {
  const repo = mockRepository();
  return { repo, service: new PipelinesService(repo as unknown as PipelinesRepository) };
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

function allCalls(repo: MockRepository): number {
  return Object.values(repo).reduce((sum, fn) => sum + fn.mock.calls.length, 0);
}

describe('PipelinesService', () => {
  describe('validate', () => {
    it('answers the definition as create would store it, and writes nothing', () => {
      const { repo, service } = setup();

      expect(service.validate(SPEC_CREATE_BODY)).toEqual({
        valid: true,
        definition: {
          name: 'MyFakePipeline',
          steps: SPEC_CREATE_BODY.steps,
          errorPolicy: { mode: 'fail' },
        },
      });
      expect(repo.appendVersion).not.toHaveBeenCalled();
      expect(repo.project).not.toHaveBeenCalled();
    });

    it('refuses what create refuses, expressions included, with every problem named', () => {
      const { service } = setup();
      const bad = {
        name: 'broken',
        steps: [
          { type: 'transform', config: { operation: 'filter', expression: 'amount >' } },
          { type: 'sink', config: { target: 'db://x' } },
        ],
      };

      let refused: unknown;
      try {
        service.validate(bad);
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 4001 });
      expect((refused as AppError).details).toContain("Step 'transform' (steps[0])");
      expect(() => service.validate({ steps: [] })).toThrow(AppError);
    });
  });

  describe('create', () => {
    it('stores the published example as version 1 with a pl_ id in the caller workspace', async () => {
      const { repo, service } = setup();

      const pipeline = await service.create(writer, SPEC_CREATE_BODY, T0);

      expect(pipeline).toEqual({
        id: expect.stringMatching(
          /^pl_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        ),
        name: 'MyFakePipeline',
        steps: SPEC_CREATE_BODY.steps,
        errorPolicy: { mode: 'fail' },
        version: 1,
        createdAt: '2025-01-01T00:00:00.000Z',
        updatedAt: '2025-01-01T00:00:00.000Z',
      });
      const written = {
        pipelineId: pipeline.id,
        name: 'MyFakePipeline',
        steps: SPEC_CREATE_BODY.steps,
        version: 1,
        createdAt: T0,
        updatedAt: T0,
      };
      expect(repo.appendVersion).toHaveBeenCalledTimes(1);
      expect(repo.appendVersion).toHaveBeenCalledWith({ workspaceId: 'ws_a' }, written);
      expect(repo.project).toHaveBeenCalledWith({ workspaceId: 'ws_a' }, written);
    });

    it('records the version before making it visible in the listing', async () => {
      const { repo, service } = setup();
      await service.create(writer, SPEC_CREATE_BODY);
      expect(repo.appendVersion.mock.invocationCallOrder[0]).toBeLessThan(
        repo.project.mock.invocationCallOrder[0]!,
      );
    });

    it('scopes the writes to the workspace of whoever calls', async () => {
      const { repo, service } = setup();
      await service.create({ ...admin, workspaceId: 'ws_other' }, SPEC_CREATE_BODY);
      expect(repo.appendVersion.mock.calls[0]![0]).toEqual({ workspaceId: 'ws_other' });
      expect(repo.project.mock.calls[0]![0]).toEqual({ workspaceId: 'ws_other' });
    });

    it('gives every pipeline a new id', async () => {
      const { service } = setup();
      const a = await service.create(writer, SPEC_CREATE_BODY);
      const b = await service.create(writer, SPEC_CREATE_BODY);
      expect(a.id).not.toBe(b.id);
    });

    it('keeps the description', async () => {
      const { service } = setup();
      const pipeline = await service.create(writer, {
        ...SPEC_CREATE_BODY,
        description: 'fake data, shouted',
      });
      expect(pipeline.description).toBe('fake data, shouted');
    });

    it('refuses an invalid definition with 4001 and the problem, without touching the repository', async () => {
      const { repo, service } = setup();
      const definition = {
        name: 'MyFakePipeline',
        steps: [
          SPEC_CREATE_BODY.steps[0],
          { type: 'transform', config: {} },
          SPEC_CREATE_BODY.steps[2],
        ],
      };

      const error = await rejectionOf(service.create(writer, definition));

      expect(error.code).toBe(4001);
      expect(error.status).toBe(400);
      expect(error.details).toBe("Step 'transform' (steps[1]) missing required field 'operation'");
      expect(allCalls(repo)).toBe(0);
    });

    it('joins several problems into one answer', async () => {
      const { repo, service } = setup();
      const error = await rejectionOf(service.create(writer, { steps: [] }));
      expect(error.code).toBe(4001);
      expect(error.details).toBe(
        "missing required field 'name'; field 'steps' must contain at least one step",
      );
      expect(allCalls(repo)).toBe(0);
    });
  });

  describe('read-only credentials', () => {
    it.each([
      ['create', (s: PipelinesService) => s.create(reader, SPEC_CREATE_BODY)],
      ['update', (s: PipelinesService) => s.update(reader, PIPELINE_ID, SPEC_UPDATE_BODY)],
      ['delete', (s: PipelinesService) => s.delete(reader, PIPELINE_ID)],
    ])('cannot %s: 4030 and the repository is not touched', async (_op, call) => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version());

      const error = await rejectionOf(call(service));

      expect(error.code).toBe(4030);
      expect(error.status).toBe(403);
      expect(error.details).toBe("This credential lacks the 'write' scope this operation requires");
      expect(allCalls(repo)).toBe(0);
    });

    it('are refused before the definition is validated', async () => {
      const { service } = setup();
      expect((await rejectionOf(service.create(reader, { junk: true }))).code).toBe(4030);
    });

    it('can still read', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version());
      await expect(service.get(reader, PIPELINE_ID)).resolves.toMatchObject({
        name: 'MyFakePipeline',
      });
      await expect(service.list(reader, 20)).resolves.toEqual({ items: [], nextCursor: null });
    });
  });

  describe('get', () => {
    it('returns the latest version in API form, looked up in the caller workspace', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(
        version({ description: 'd', version: 3, updatedAt: T1 }),
      );

      const pipeline = await service.get(reader, PIPELINE_ID);

      expect(pipeline).toEqual({
        id: PIPELINE_ID,
        name: 'MyFakePipeline',
        description: 'd',
        steps: SPEC_CREATE_BODY.steps,
        errorPolicy: { mode: 'fail' },
        version: 3,
        createdAt: T0.toISOString(),
        updatedAt: T1.toISOString(),
      });
      expect(pipeline).not.toHaveProperty('workspaceId');
      expect(repo.latestVersion).toHaveBeenCalledWith({ workspaceId: 'ws_a' }, PIPELINE_ID);
    });

    it('answers 4040 naming the pipeline when it does not exist', async () => {
      const { service } = setup();
      const error = await rejectionOf(service.get(reader, 'pl_missing'));
      expect(error.code).toBe(4040);
      expect(error.status).toBe(404);
      expect(error.details).toBe("Pipeline 'pl_missing' was not found");
    });

    it('answers 4040 when the latest version is a tombstone', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version({ version: 2, deleted: true }));
      expect((await rejectionOf(service.get(reader, PIPELINE_ID))).code).toBe(4040);
    });
  });

  describe('update', () => {
    it('writes the published patch as the next version and returns it', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version({ version: 4, description: 'kept' }));

      const pipeline = await service.update(writer, PIPELINE_ID, SPEC_UPDATE_BODY, T1);

      expect(pipeline).toEqual({
        id: PIPELINE_ID,
        name: 'MyFakePipeline',
        description: 'kept',
        steps: SPEC_UPDATE_BODY.steps,
        errorPolicy: { mode: 'fail' },
        version: 5,
        createdAt: T0.toISOString(),
        updatedAt: T1.toISOString(),
      });
      expect(repo.latestVersion).toHaveBeenCalledWith({ workspaceId: 'ws_a' }, PIPELINE_ID);
      const [scope, written] = repo.appendVersion.mock.calls[0]!;
      expect(scope).toEqual({ workspaceId: 'ws_a' });
      expect(written).toMatchObject({
        pipelineId: PIPELINE_ID,
        version: 5,
        name: 'MyFakePipeline',
        description: 'kept',
        steps: SPEC_UPDATE_BODY.steps,
        createdAt: T0,
        updatedAt: T1,
      });
      expect(repo.project).toHaveBeenCalledWith({ workspaceId: 'ws_a' }, written);
    });

    it('retries on top of the newer version when another writer took the version first, then succeeds', async () => {
      const { repo, service } = setup();
      repo.latestVersion
        .mockResolvedValueOnce(version({ version: 1 }))
        .mockResolvedValueOnce(
          version({ version: 2, name: 'renamed meanwhile', description: 'from the other writer' }),
        );
      repo.appendVersion.mockResolvedValueOnce(false).mockResolvedValueOnce(true);

      const pipeline = await service.update(writer, PIPELINE_ID, { name: 'mine' });

      expect(pipeline).toMatchObject({
        version: 3,
        name: 'mine',
        description: 'from the other writer',
      });
      expect(repo.latestVersion).toHaveBeenCalledTimes(2);
      expect(repo.appendVersion.mock.calls.map(([, v]) => v.version)).toEqual([2, 3]);
      // Only the version that was written is shown in the listing.
      expect(repo.project).toHaveBeenCalledTimes(1);
      expect(repo.project.mock.calls[0]![1]).toMatchObject({ version: 3, name: 'mine' });
    });

    it('gives up with 4090 after 5 conflicts and shows nothing in the listing', async () => {
      const { repo, service } = setup();
      let latest = 0;
      repo.latestVersion.mockImplementation(() => Promise.resolve(version({ version: ++latest })));
      repo.appendVersion.mockResolvedValue(false);

      const error = await rejectionOf(service.update(writer, PIPELINE_ID, SPEC_UPDATE_BODY));

      expect(error.code).toBe(4090);
      expect(error.status).toBe(409);
      expect(error.details).toBe(
        `Pipeline '${PIPELINE_ID}' is being changed concurrently; retry the update`,
      );
      expect(repo.appendVersion).toHaveBeenCalledTimes(5);
      expect(repo.latestVersion).toHaveBeenCalledTimes(5);
      expect(repo.project).not.toHaveBeenCalled();
    });

    it('answers 4040 when the pipeline does not exist', async () => {
      const { repo, service } = setup();
      const error = await rejectionOf(service.update(writer, 'pl_missing', SPEC_UPDATE_BODY));
      expect(error.code).toBe(4040);
      expect(error.details).toBe("Pipeline 'pl_missing' was not found");
      expect(repo.appendVersion).not.toHaveBeenCalled();
    });

    it('answers 4040 for a deleted pipeline and does not bring it back', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version({ version: 2, deleted: true }));
      expect((await rejectionOf(service.update(writer, PIPELINE_ID, SPEC_UPDATE_BODY))).code).toBe(
        4040,
      );
      expect(repo.appendVersion).not.toHaveBeenCalled();
      expect(repo.project).not.toHaveBeenCalled();
    });

    it('answers 4040 when the pipeline is deleted while retrying', async () => {
      const { repo, service } = setup();
      repo.latestVersion
        .mockResolvedValueOnce(version({ version: 1 }))
        .mockResolvedValueOnce(version({ version: 2, deleted: true }));
      repo.appendVersion.mockResolvedValue(false);
      expect((await rejectionOf(service.update(writer, PIPELINE_ID, SPEC_UPDATE_BODY))).code).toBe(
        4040,
      );
      expect(repo.appendVersion).toHaveBeenCalledTimes(1);
    });

    it('refuses an invalid patch with 4001 without touching the repository', async () => {
      const { repo, service } = setup();
      const error = await rejectionOf(
        service.update(writer, PIPELINE_ID, { steps: [{ type: 'transform', config: {} }] }),
      );
      expect(error.code).toBe(4001);
      expect(error.details).toBe("Step 'transform' (steps[0]) missing required field 'operation'");
      expect(allCalls(repo)).toBe(0);
    });

    it('refuses an empty patch with 4001', async () => {
      const { repo, service } = setup();
      expect((await rejectionOf(service.update(writer, PIPELINE_ID, {}))).code).toBe(4001);
      expect(allCalls(repo)).toBe(0);
    });
  });

  describe('delete', () => {
    it('writes a tombstone as the next version and removes the pipeline from the listing', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version({ version: 2 }));

      await expect(service.delete(writer, PIPELINE_ID, T1)).resolves.toEqual({ deleted: true });

      expect(repo.appendVersion).toHaveBeenCalledWith(
        { workspaceId: 'ws_a' },
        expect.objectContaining({
          pipelineId: PIPELINE_ID,
          version: 3,
          deleted: true,
          updatedAt: T1,
        }),
      );
      // The listing keeps a tombstone, so a slower writer of version 2 cannot bring it back.
      expect(repo.project).toHaveBeenCalledWith(
        { workspaceId: 'ws_a' },
        expect.objectContaining({ pipelineId: PIPELINE_ID, version: 3, deleted: true }),
      );
    });

    it('answers 4040 when there is nothing to delete', async () => {
      const { repo, service } = setup();
      const error = await rejectionOf(service.delete(writer, 'pl_missing'));
      expect(error.code).toBe(4040);
      expect(error.details).toBe("Pipeline 'pl_missing' was not found");
      expect(repo.appendVersion).not.toHaveBeenCalled();
      expect(repo.project).not.toHaveBeenCalled();
    });

    it('answers 4040 when the pipeline is already deleted', async () => {
      const { repo, service } = setup();
      repo.latestVersion.mockResolvedValue(version({ version: 3, deleted: true }));
      expect((await rejectionOf(service.delete(writer, PIPELINE_ID))).code).toBe(4040);
      expect(repo.appendVersion).not.toHaveBeenCalled();
    });

    it('retries on a newer version and gives up with 4090 after 5 conflicts', async () => {
      const { repo, service } = setup();
      let latest = 0;
      repo.latestVersion.mockImplementation(() => Promise.resolve(version({ version: ++latest })));
      repo.appendVersion.mockResolvedValue(false);

      const error = await rejectionOf(service.delete(writer, PIPELINE_ID));

      expect(error.code).toBe(4090);
      expect(repo.appendVersion).toHaveBeenCalledTimes(5);
      expect(repo.project).not.toHaveBeenCalled();
    });
  });

  describe('list', () => {
    it('returns a page in API form and passes limit, cursor and workspace on', async () => {
      const { repo, service } = setup();
      const cursor = encodeCursor('pl_0');
      repo.listLive.mockResolvedValue({
        items: [projected({ version: 2 })],
        nextCursor: encodeCursor(PIPELINE_ID),
      });

      const page = await service.list(reader, 1, cursor);

      expect(page).toEqual({
        items: [
          {
            id: PIPELINE_ID,
            name: 'MyFakePipeline',
            steps: SPEC_CREATE_BODY.steps,
            errorPolicy: { mode: 'fail' },
            version: 2,
            createdAt: T0.toISOString(),
            updatedAt: T0.toISOString(),
          },
        ],
        nextCursor: encodeCursor(PIPELINE_ID),
      });
      expect(repo.listLive).toHaveBeenCalledWith({ workspaceId: 'ws_a' }, { limit: 1, cursor });
    });

    it.each(['bogus!', 'cGxfMQ==', 'QR'])(
      'refuses the cursor %p with 4002 naming the parameter',
      async (cursor) => {
        const { repo, service } = setup();
        const error = await rejectionOf(service.list(reader, 20, cursor));
        expect(error.code).toBe(4002);
        expect(error.status).toBe(400);
        expect(error.details).toBe("query parameter 'cursor' is not a cursor returned by this API");
        expect(repo.listLive).not.toHaveBeenCalled();
      },
    );
  });
});
