import mongoose, { type Connection } from 'mongoose';
import { type AppError, type Principal } from '@cloudflow/contracts';
import { aPipeline, uniqueName, withDatabase } from '@cloudflow/testing';
import {
  PIPELINES_COLLECTION,
  PIPELINE_VERSIONS_COLLECTION,
  PipelineSchema,
  PipelineVersionSchema,
  type PipelineDocument,
  type PipelineVersionDocument,
} from './pipeline.schema';
import { PipelinesRepository } from './pipelines.repository';
import { PipelinesService } from './pipelines.service';

describe('Pipeline versions on a real MongoDB-wire server', () => {
  let connection: Connection;
  let service: PipelinesService;
  const principal: Principal = {
    workspaceId: 'ws_it',
    subject: { kind: 'api-key', id: 'key_it' },
    scopes: ['write'],
  };

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_pipelines')))
      .asPromise();
    const repository = new PipelinesRepository(
      connection.model<PipelineDocument>(PIPELINES_COLLECTION, PipelineSchema),
      connection.model<PipelineVersionDocument>(
        PIPELINE_VERSIONS_COLLECTION,
        PipelineVersionSchema,
      ),
    );
    await repository.onModuleInit();
    service = new PipelinesService(repository);
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('gives concurrent updates distinct versions and loses none of them', async () => {
    const created = await service.create(principal, aPipeline());
    const names = Array.from({ length: 8 }, (_, i) => `concurrent-${i}`);
    const results = await Promise.allSettled(
      names.map((name) => service.update(principal, created.id, { name })),
    );

    const applied = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as AppError] : []));
    refused.forEach((error) => expect(error.code).toBe(4090));
    expect(applied.length).toBeGreaterThan(0);
    // Every applied update got its own version number.
    const versions = applied.map((p) => p.version).sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(applied.length);

    const history = await connection
      .collection(PIPELINE_VERSIONS_COLLECTION)
      .find({ pipelineId: created.id })
      .sort({ version: 1 })
      .toArray();
    expect(history.map((v) => v['version'])).toEqual(
      Array.from({ length: applied.length + 1 }, (_, i) => i + 1),
    );

    const latest = await service.get(principal, created.id);
    expect(latest.version).toBe(applied.length + 1);
    expect(latest.name).toBe(history[history.length - 1]!['name']);
  });

  it('a delete racing with updates either deletes for good or is refused with 409, never half-applied', async () => {
    const created = await service.create(principal, aPipeline());
    const [, deleted] = await Promise.allSettled([
      service.update(principal, created.id, { name: 'a' }),
      service.delete(principal, created.id),
      service.update(principal, created.id, { name: 'b' }),
    ]);
    const listed = (await service.list(principal, 100)).items.find((p) => p.id === created.id);
    if (deleted.status === 'fulfilled') {
      await expect(service.get(principal, created.id)).rejects.toMatchObject({ code: 4040 });
      // Once deleted, nothing can bring it back, not even into the listing.
      await expect(service.update(principal, created.id, { name: 'zombie' })).rejects.toMatchObject(
        {
          code: 4040,
        },
      );
      expect(listed).toBeUndefined();
    } else {
      expect((deleted.reason as AppError).code).toBe(4090);
      const live = await service.get(principal, created.id);
      expect(listed).toMatchObject({ version: live.version, name: live.name });
    }
  });

  it('keeps the projection used for listing in step with the latest version', async () => {
    const created = await service.create(principal, aPipeline({ name: 'before' }));
    await service.update(principal, created.id, { name: 'after', description: 'second version' });
    const page = await service.list(principal, 100);
    expect(page.items.find((p) => p.id === created.id)).toMatchObject({
      name: 'after',
      version: 2,
      description: 'second version',
    });
  });
});
