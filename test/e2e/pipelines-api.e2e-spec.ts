import { MongoClient } from 'mongodb';
import {
  hashApiKey,
  type ErrorEnvelope,
  type Pipeline,
  type PipelinePage,
} from '@cloudflow/contracts';
import {
  SPEC_CREATE_PIPELINE_BODY,
  SPEC_UPDATE_PIPELINE_BODY,
  aPipeline,
  SERVICE_NAMES,
  type ServiceProcess,
} from '@cloudflow/testing';
import { Stack, eventually, STACK_MODE } from './support/stack';

/**
 * The published API's pipeline examples, verbatim, and every documented
 * error path, through the gateway of the distributed stack.
 */
describe(`Pipelines API (${STACK_MODE})`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('the published examples', () => {
    let created: Pipeline;

    it('creates the spec’s pipeline with an ApiKey header: 201 with the pipeline and its id', async () => {
      const res = await stack.api().post<Pipeline>('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ ...SPEC_CREATE_PIPELINE_BODY, version: 1 });
      expect(res.body.id).toMatch(/^pl_[0-9a-f-]{36}$/);
      expect(res.headers.get('location')).toBe(`/api/v1/pipelines/${res.body.id}`);
      created = res.body;
    });

    it('lists it', async () => {
      const res = await stack.api().get<PipelinePage>('/api/v1/pipelines');
      expect(res.status).toBe(200);
      expect(res.body.items.map((p) => p.id)).toContain(created.id);
    });

    it('gets it', async () => {
      const res = await stack.api().get<Pipeline>(`/api/v1/pipelines/${created.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created);
    });

    it('updates it with the spec’s PUT body, bumping the version and keeping the name', async () => {
      const res = await stack
        .api()
        .put<Pipeline>(`/api/v1/pipelines/${created.id}`, SPEC_UPDATE_PIPELINE_BODY);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: created.id,
        name: 'MyFakePipeline',
        version: 2,
        steps: SPEC_UPDATE_PIPELINE_BODY.steps,
      });
      const again = await stack.api().get<Pipeline>(`/api/v1/pipelines/${created.id}`);
      expect(again.body.version).toBe(2);
      expect(again.body.steps).toEqual(SPEC_UPDATE_PIPELINE_BODY.steps);
    });

    it('deletes it: 204, then 404 with code 4040', async () => {
      const res = await stack.api().delete(`/api/v1/pipelines/${created.id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      const gone = await stack.api().get<ErrorEnvelope>(`/api/v1/pipelines/${created.id}`);
      expect(gone.status).toBe(404);
      expect(gone.body).toEqual({
        error: 'Resource not found',
        code: 4040,
        details: `Pipeline '${created.id}' was not found`,
      });
    });
  });

  describe('pagination', () => {
    it('walks every pipeline exactly once with limit and cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await stack.api().post<Pipeline>('/api/v1/pipelines', aPipeline())).body.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
        const page = await stack.api().get<PipelinePage>(`/api/v1/pipelines${query}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((p) => p.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it.each([
      ['limit=0', "query parameter 'limit' must be at least 1"],
      ['limit=101', "query parameter 'limit' must be at most 100"],
      ['limit=abc', "query parameter 'limit'"],
      ['cursor=not-a-cursor', "query parameter 'cursor' is not a cursor returned by this API"],
      ['sort=name', "unknown query parameter 'sort'"],
    ])('refuses %s with 400/4002', async (query, details) => {
      const res = await stack.api().get<ErrorEnvelope>(`/api/v1/pipelines?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(4002);
      expect(res.body.details).toContain(details);
    });
  });

  describe('authentication', () => {
    it.each([
      ['no header', null, 'Missing Authorization header'],
      [
        'an unknown key',
        'ApiKey FAKE-API-KEY-000000',
        'The API key is invalid, expired or revoked',
      ],
      ['an unknown scheme', 'Basic dXNlcjpwYXNz', "Unsupported authorization scheme 'Basic'"],
      ['a malformed header', 'ApiKey', 'Malformed Authorization header'],
      [
        'an unknown bearer token',
        'Bearer FAKE-TOKEN-ABCDEF',
        'The bearer token is invalid or expired',
      ],
    ])('answers 401/4010 to %s', async (_case, authorization, details) => {
      const res = await stack.api(authorization).get<ErrorEnvelope>('/api/v1/pipelines');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: 'Unauthorized',
        code: 4010,
        details: expect.stringContaining(details),
      });
      expect(res.headers.get('www-authenticate')).toContain('ApiKey');
    });

    it('accepts the scheme name in any case', async () => {
      const res = await stack.api('apikey FAKE-API-KEY-123456').get('/api/v1/pipelines');
      expect(res.status).toBe(200);
    });
  });

  describe('validation without saving (POST /api/v1/pipelines/validate)', () => {
    const count = async () => {
      let total = 0;
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await stack.api().get<PipelinePage>(`/api/v1/pipelines?limit=100${query}`);
        total += page.body.items.length;
        cursor = page.body.nextCursor;
      } while (cursor);
      return total;
    };

    it('answers 200 with the definition as it would be stored, and saves nothing', async () => {
      const before = await count();
      const res = await stack.api().post('/api/v1/pipelines/validate', SPEC_CREATE_PIPELINE_BODY);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: true,
        definition: { ...SPEC_CREATE_PIPELINE_BODY, errorPolicy: { mode: 'fail' } },
      });
      expect(await count()).toBe(before);
    });

    it('refuses what create refuses (400/4001, each problem named), expressions included', async () => {
      const before = await count();
      const res = await stack.api().post<ErrorEnvelope>('/api/v1/pipelines/validate', {
        name: 'broken',
        steps: [
          { type: 'transform', config: { operation: 'filter', expression: 'amount >' } },
          { type: 'sink', config: { target: 'db://x', extra: 1 } },
        ],
      });
      expect([res.status, res.body.code]).toEqual([400, 4001]);
      expect(res.body.details).toContain("Step 'sink' (steps[1])");
      const compiled = await stack.api().post<ErrorEnvelope>('/api/v1/pipelines/validate', {
        name: 'broken',
        steps: [{ type: 'transform', config: { operation: 'filter', expression: 'amount >' } }],
      });
      expect([compiled.status, compiled.body.code]).toEqual([400, 4001]);
      expect(compiled.body.details).toContain("Step 'transform' (steps[0]) operation 'filter'");
      expect(await count()).toBe(before);
    });
  });

  describe('invalid pipeline configuration (400/4001, naming the step)', () => {
    it.each([
      [
        'the spec’s example: a transform without operation',
        {
          name: 'p',
          steps: [
            { type: 'source', config: { path: '/a.csv' } },
            { type: 'transform', config: {} },
          ],
        },
        "Step 'transform' (steps[1]) missing required field 'operation'",
      ],
      [
        'an unknown step type',
        { name: 'p', steps: [{ type: 'shuffle', config: {} }] },
        "Step steps[0] has unknown type 'shuffle'",
      ],
      [
        'a source after a transform',
        {
          name: 'p',
          steps: [
            { type: 'transform', config: { operation: 'trim' } },
            { type: 'source', config: { path: '/a.csv' } },
          ],
        },
        "Step 'source' (steps[1]) must be the first step",
      ],
      [
        'a sink before a transform',
        {
          name: 'p',
          steps: [
            { type: 'sink', config: { target: 'db://x' } },
            { type: 'transform', config: { operation: 'trim' } },
          ],
        },
        "Step 'sink' (steps[0]) must be the last step",
      ],
      [
        'an unknown operation',
        { name: 'p', steps: [{ type: 'transform', config: { operation: 'explode' } }] },
        "Step 'transform' (steps[0]) has unknown operation 'explode'",
      ],
      [
        'a mistyped field',
        {
          name: 'p',
          steps: [{ type: 'transform', config: { operation: 'filter', expression: 42 } }],
        },
        "Step 'transform' (steps[0]) operation 'filter' field 'expression' must be a string",
      ],
      [
        'a missing name',
        { steps: [{ type: 'transform', config: { operation: 'uppercase' } }] },
        "missing required field 'name'",
      ],
      ['no steps', { name: 'p', steps: [] }, "field 'steps' must contain at least one step"],
      [
        'a filter expression that does not parse',
        {
          name: 'p',
          steps: [
            { type: 'source', config: { path: '/a.csv' } },
            { type: 'transform', config: { operation: 'filter', expression: 'amount >' } },
          ],
        },
        "Step 'transform' (steps[1]) operation 'filter' expression:",
      ],
      [
        'a path escaping the data root',
        { name: 'p', steps: [{ type: 'source', config: { path: '/../../etc/passwd' } }] },
        "must not contain '..' segments",
      ],
    ])('refuses %s', async (_case, body, details) => {
      const res = await stack.api().post<ErrorEnvelope>('/api/v1/pipelines', body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Invalid pipeline configuration');
      expect(res.body.code).toBe(4001);
      expect(res.body.details).toContain(details);
    });

    it('refuses an invalid PUT and leaves the pipeline unchanged', async () => {
      const created = (await stack.api().post<Pipeline>('/api/v1/pipelines', aPipeline())).body;
      const res = await stack.api().put<ErrorEnvelope>(`/api/v1/pipelines/${created.id}`, {
        steps: [{ type: 'transform', config: {} }],
      });
      expect(res.status).toBe(400);
      expect(res.body.details).toBe(
        "Step 'transform' (steps[0]) missing required field 'operation'",
      );
      expect(
        (await stack.api().get<Pipeline>(`/api/v1/pipelines/${created.id}`)).body.version,
      ).toBe(1);
    });
  });

  describe('malformed requests', () => {
    it('answers malformed JSON with 400/4000', async () => {
      const res = await stack.api().request<ErrorEnvelope>('POST', '/api/v1/pipelines', {
        raw: '{"name": "x", "steps": [',
        headers: { 'Content-Type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(4000);
      expect(res.body.details).toMatch(/could not be read/);
    });

    it('answers a non-JSON content type with 415/4150', async () => {
      const res = await stack.api().request<ErrorEnvelope>('POST', '/api/v1/pipelines', {
        raw: 'name=x',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({
        code: 4150,
        details: "Unsupported Content-Type; send 'application/json'",
      });
    });

    it('answers an oversized body with 413/4130', async () => {
      const body = aPipeline({ description: 'x'.repeat(2 * 1024 * 1024) });
      const res = await stack.api().post<ErrorEnvelope>('/api/v1/pipelines', body);
      expect(res.status).toBe(413);
      expect(res.body.code).toBe(4130);
    });

    it('answers a JSON array body with 400/4001', async () => {
      const res = await stack
        .api()
        .post<ErrorEnvelope>('/api/v1/pipelines', [SPEC_CREATE_PIPELINE_BODY]);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 4001, details: 'request body must be a JSON object' });
    });

    it('answers an unknown route with 404/4040', async () => {
      const res = await stack.api().get<ErrorEnvelope>('/api/v1/pipelinez');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: 'Resource not found',
        code: 4040,
        details: 'No route GET /api/v1/pipelinez',
      });
    });

    it('answers an id longer than any route accepts with 414/4140', async () => {
      const res = await stack.api().get<ErrorEnvelope>(`/api/v1/pipelines/${'x'.repeat(300)}`);
      expect(res.status).toBe(414);
      expect(res.body.code).toBe(4140);
    });

    it.each(['pl_does-not-exist', 'has%20space', 'x'.repeat(150)])(
      'answers an unknown id (%s) with 404/4040',
      async (id) => {
        for (const method of ['GET', 'DELETE'] as const) {
          const res = await stack.api().request<ErrorEnvelope>(method, `/api/v1/pipelines/${id}`);
          expect(res.status).toBe(404);
          expect(res.body.code).toBe(4040);
        }
        const put = await stack
          .api()
          .put<ErrorEnvelope>(`/api/v1/pipelines/${id}`, SPEC_UPDATE_PIPELINE_BODY);
        expect(put.status).toBe(404);
      },
    );

    it('names every response with a request id, echoing a sane one the caller sent', async () => {
      const res = await stack
        .api()
        .get('/api/v1/pipelines', { headers: { 'X-Request-Id': 'trace-me-123' } });
      expect(res.headers.get('x-request-id')).toBe('trace-me-123');
      const generated = await stack
        .api()
        .get('/api/v1/pipelines', { headers: { 'X-Request-Id': 'bad id with spaces' } });
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('unexpected failures', () => {
    it('answers 500/5000 with a correlation id that is in the logs, and no internals', async () => {
      // A stored version the API could never have written: steps is not a list.
      const mongo = await MongoClient.connect(stack.mongoUrl);
      const now = new Date();
      await mongo
        .db()
        .collection('pipeline_versions')
        .insertOne({
          _id: 'pl_corrupt@1' as never,
          workspaceId: 'ws_default',
          pipelineId: 'pl_corrupt',
          version: 1,
          name: 'corrupt',
          steps: 'internal-detail-xyz',
          createdAt: now,
          updatedAt: now,
        });
      await mongo.close();

      const res = await stack.api().get<ErrorEnvelope>('/api/v1/pipelines/pl_corrupt');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ error: 'Internal server error', code: 5000 });
      const correlationId = res.body.correlationId!;
      expect(correlationId).toBe(res.headers.get('x-request-id'));
      expect(res.body.details).toContain(correlationId);
      expect(res.text).not.toContain('internal-detail-xyz');
      expect(res.text).not.toMatch(/at .*\.js:\d+/);
      await eventually(
        async () =>
          stack.gateway
            .logLines()
            .some((l) => l['level'] === 'error' && JSON.stringify(l).includes(correlationId)),
        5_000,
      );
    });

    it('carries the request id across the transport: the failing service logs the caller’s id', async () => {
      // A stored version whose timestamp cannot be read: the registry itself fails.
      const mongo = await MongoClient.connect(stack.mongoUrl);
      await mongo
        .db()
        .collection('pipeline_versions')
        .insertOne({
          _id: 'pl_badtime@1' as never,
          workspaceId: 'ws_default',
          pipelineId: 'pl_badtime',
          version: 1,
          name: 'bad time',
          steps: [],
          createdAt: 'not a time',
          updatedAt: 'not a time',
        });
      await mongo.close();
      const res = await stack.api().get<ErrorEnvelope>('/api/v1/pipelines/pl_badtime', {
        headers: { 'X-Request-Id': 'trace-across-kafka-1' },
      });
      expect([res.status, res.body.correlationId]).toEqual([500, 'trace-across-kafka-1']);
      await eventually(
        async () =>
          stack
            .service('pipeline-registry')
            .logLines()
            .some(
              (l) => l['msg'] === 'rpc handler failed' && l['requestId'] === 'trace-across-kafka-1',
            ),
        5_000,
      );
    });
  });

  describe('workspaces', () => {
    it('hides another workspace’s pipelines: 404/4040 on every route, never its data', async () => {
      const mine = (
        await stack.api().post<Pipeline>('/api/v1/pipelines', aPipeline({ name: 'secret-plan' }))
      ).body;
      // A key of a second workspace, written the way the auth service stores keys.
      const otherKey = 'OTHER-WORKSPACE-KEY-0001';
      const mongo = await MongoClient.connect(stack.mongoUrl);
      await mongo
        .db()
        .collection('api_keys')
        .insertOne({
          _id: 'key_other' as never,
          workspaceId: 'ws_other',
          name: 'other',
          keyHash: hashApiKey(otherKey),
          displayPrefix: 'OTHER-',
          scopes: ['admin'],
          createdAt: new Date(),
        });
      await mongo.close();
      const other = stack.api(`ApiKey ${otherKey}`);

      const responses = [
        await other.get(`/api/v1/pipelines/${mine.id}`),
        await other.put(`/api/v1/pipelines/${mine.id}`, SPEC_UPDATE_PIPELINE_BODY),
        await other.delete(`/api/v1/pipelines/${mine.id}`),
      ];
      for (const res of responses) {
        expect(res.status).toBe(404);
        expect((res.body as ErrorEnvelope).code).toBe(4040);
      }
      const list = await other.get<PipelinePage>('/api/v1/pipelines');
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([]);
      expect(list.text).not.toContain('secret-plan');
      // Still intact for its owner.
      expect((await stack.api().get<Pipeline>(`/api/v1/pipelines/${mine.id}`)).body.version).toBe(
        1,
      );
    });
  });

  describe('operations', () => {
    /** The processes: six in the distributed stack, one in standalone mode. */
    const processes = (): [string, ServiceProcess][] =>
      stack.standalone ? [['standalone', stack.standalone]] : [...stack.services];

    it('serves /healthz and /readyz on every process, readiness naming its dependencies', async () => {
      for (const [name, service] of processes()) {
        const live = await fetch(`${service.baseUrl}/healthz`);
        expect(live.status).toBe(200);
        const ready = await fetch(`${service.baseUrl}/readyz`);
        const body = (await ready.json()) as { status: string; checks: Record<string, string> };
        expect({ name, status: ready.status, body }).toMatchObject({
          status: 200,
          body: { status: 'ready' },
        });
        expect(body.checks[stack.mode === 'standalone' ? 'transport' : 'kafka']).toBe('ok');
        if (name !== 'gateway') expect(body.checks['mongodb']).toBe('ok');
      }
    });

    it('logs one JSON object per line naming its service, and never the API key', () => {
      for (const [name, service] of processes()) {
        const lines = service.logLines();
        const json = lines.filter((l) => l['raw'] === undefined);
        expect(json.length).toBeGreaterThan(0);
        for (const line of json) {
          expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String) });
        }
        if (name === 'standalone') {
          // Six services in one process: every line says which, and each of them logs.
          expect(new Set(json.map((l) => l['service']))).toEqual(new Set(SERVICE_NAMES));
          // Its only other lines are its own banner, which shows the key to use on purpose.
          for (const line of lines.filter((l) => l['raw'] !== undefined)) {
            expect(String(line['raw'])).toMatch(/^\[cloudflow\] /);
          }
        } else {
          expect(json.length).toBe(lines.length);
          for (const line of json) expect(line['service']).toBe(name);
        }
        expect(JSON.stringify(json)).not.toContain('FAKE-API-KEY-123456');
      }
    });
  });
});
