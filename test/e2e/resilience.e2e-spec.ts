import { SERVICE_NAMES, aPipeline } from '@cloudflow/testing';
import type { ErrorEnvelope, Pipeline, PipelinePage } from '@cloudflow/contracts';
import { RPC_TIMEOUT_MS, Stack, eventually } from './support/stack';

/**
 * Any one service process can die at any instant and come back while the
 * rest keep running: the API recovers by itself and nothing stored is lost.
 */
describe('Resilience of the distributed stack', () => {
  let stack: Stack;
  const created: Pipeline[] = [];

  beforeAll(async () => {
    stack = await Stack.start();
    for (let i = 0; i < 3; i++)
      created.push((await stack.api().post<Pipeline>('/api/v1/pipelines', aPipeline())).body);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function apiWorks(): Promise<boolean> {
    const res = await stack.api().post<Pipeline>('/api/v1/pipelines', aPipeline());
    if (res.status !== 201) return false;
    created.push(res.body);
    const got = await stack.api().get<Pipeline>(`/api/v1/pipelines/${res.body.id}`);
    return got.status === 200;
  }

  async function allPipelinesPresent(): Promise<void> {
    const page = await stack.api().get<PipelinePage>('/api/v1/pipelines?limit=100');
    expect(page.status).toBe(200);
    expect(page.body.items.map((p) => p.id)).toEqual(
      expect.arrayContaining(created.map((p) => p.id)),
    );
  }

  it('answers 503/5030 within a bounded time while the owning service is down, then recovers', async () => {
    const registry = stack.service('pipeline-registry');
    expect(await registry.stop('SIGTERM')).toBe(0);

    const started = Date.now();
    const res = await stack.api().get<ErrorEnvelope>(`/api/v1/pipelines/${created[0]!.id}`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'Service unavailable', code: 5030 });
    expect(res.body.details).toContain('pipeline-registry');
    expect(res.body.correlationId).toBe(res.headers.get('x-request-id'));
    expect(elapsed).toBeLessThan(RPC_TIMEOUT_MS + 2_000);

    registry.start();
    await registry.waitReady();
    await eventually(apiWorks, 45_000);
    await allPipelinesPresent();
  });

  it.each(SERVICE_NAMES)(
    'recovers after %s is killed with SIGKILL and started again, losing no pipeline',
    async (name) => {
      const service = stack.service(name);
      await service.stop('SIGKILL');
      service.start();
      await service.waitReady();
      // The rest of the stack was never restarted; `eventually` fails the test after 60 s.
      await eventually(apiWorks, 60_000);
      await allPipelinesPresent();
    },
    120_000,
  );

  it('stops every service cleanly on SIGTERM (exit code 0)', async () => {
    const codes = await stack.stop();
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(SERVICE_NAMES.map((n) => [n, 0])));
  });
});
