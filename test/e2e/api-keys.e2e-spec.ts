import type { ApiKey, CreatedApiKey, ErrorEnvelope, Page } from '@cloudflow/contracts';
import { SPEC_CREATE_PIPELINE_BODY } from '@cloudflow/testing';
import { Stack, eventually, STACK_MODE } from './support/stack';

/** API key management through the gateway: issue, use, list, scope, expire, revoke. */
describe(`API keys (${STACK_MODE})`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const create = async (body: object) => {
    const res = await stack.api().post<CreatedApiKey>('/api/v1/api-keys', body);
    expect(res.status).toBe(201);
    return res;
  };

  it('issues a key shown once with a cfk_ prefix, which then works as ApiKey credentials', async () => {
    const res = await create({ name: 'ci pipeline' });
    expect(res.body.key).toMatch(/^cfk_[A-Za-z0-9_-]{43}$/);
    expect(res.body).toMatchObject({
      name: 'ci pipeline',
      scopes: ['read', 'write'],
      revokedAt: null,
    });
    expect(res.headers.get('location')).toBe(`/api/v1/api-keys/${res.body.id}`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const asKey = stack.api(`ApiKey ${res.body.key}`);
    expect((await asKey.post('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY)).status).toBe(201);

    const listed = await stack.api().get<Page<ApiKey>>('/api/v1/api-keys?limit=100');
    expect(listed.status).toBe(200);
    const mine = listed.body.items.find((k) => k.id === res.body.id);
    expect(mine).toEqual({
      id: res.body.id,
      name: 'ci pipeline',
      prefix: res.body.key.slice(0, 10),
      scopes: ['read', 'write'],
      createdAt: res.body.createdAt,
      expiresAt: null,
      revokedAt: null,
    });
    expect(listed.text).not.toContain(res.body.key);
    const one = await stack.api().get<ApiKey>(`/api/v1/api-keys/${res.body.id}`);
    expect(one.body).toEqual(mine);
    expect(one.text).not.toContain(res.body.key);
  });

  it('a read-only key reads but cannot write (403/4030) or manage keys', async () => {
    const { body } = await create({ name: 'dashboard', scopes: ['read'] });
    const reader = stack.api(`ApiKey ${body.key}`);
    expect((await reader.get('/api/v1/pipelines')).status).toBe(200);
    const write = await reader.post<ErrorEnvelope>('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY);
    expect(write.status).toBe(403);
    expect(write.body.code).toBe(4030);
    const manage = await reader.post<ErrorEnvelope>('/api/v1/api-keys', { name: 'escalate' });
    expect(manage.status).toBe(403);
  });

  it('a revoked key is refused within 5 seconds', async () => {
    const { body } = await create({ name: 'to revoke' });
    const user = stack.api(`ApiKey ${body.key}`);
    expect((await user.get('/api/v1/pipelines')).status).toBe(200);
    const revoke = await stack.api().delete(`/api/v1/api-keys/${body.id}`);
    expect(revoke.status).toBe(204);
    const refusedAfter = await eventually(
      async () => {
        const res = await user.get<ErrorEnvelope>('/api/v1/pipelines');
        return res.status === 401 && res.body.code === 4010;
      },
      5_000,
      100,
    );
    expect(refusedAfter).toBeLessThan(5_000);
    const shown = await stack.api().get<ApiKey>(`/api/v1/api-keys/${body.id}`);
    expect(shown.body.revokedAt).not.toBeNull();
  });

  it('an expired key is refused', async () => {
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const { body } = await create({ name: 'short-lived', expiresAt });
    expect(body.expiresAt).toBe(expiresAt);
    const user = stack.api(`ApiKey ${body.key}`);
    await eventually(async () => (await user.get('/api/v1/pipelines')).status === 401, 10_000, 200);
  });

  it('refuses bad requests with the envelope', async () => {
    const noName = await stack.api().post<ErrorEnvelope>('/api/v1/api-keys', { scopes: ['read'] });
    expect(noName.status).toBe(400);
    expect(noName.body).toMatchObject({ code: 4002, details: "missing required field 'name'" });
    const badScope = await stack
      .api()
      .post<ErrorEnvelope>('/api/v1/api-keys', { name: 'x', scopes: ['root'] });
    expect(badScope.status).toBe(400);
    const past = await stack
      .api()
      .post<ErrorEnvelope>('/api/v1/api-keys', { name: 'x', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.body).toMatchObject({
      code: 4002,
      details: "field 'expiresAt' must be in the future",
    });
    const unknown = await stack.api().delete<ErrorEnvelope>('/api/v1/api-keys/key_nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe(4040);
  });
});
