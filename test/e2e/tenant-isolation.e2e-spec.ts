import type {
  CreatedApiKey,
  CreatedOAuthClient,
  CreatedWorkspace,
  DataSource,
  ErrorEnvelope,
  Job,
  Pipeline,
  User,
  Workspace,
} from '@cloudflow/contracts';
import { SPEC_CREATE_PIPELINE_BODY, type ApiClient } from '@cloudflow/testing';
import { Stack, STACK_MODE } from './support/stack';
import { createPipeline, submitJob, waitForJob } from './support/jobs';
import {
  Browser,
  authorizeAndApprove,
  createUser,
  pkce,
  registerClient,
  requestToken,
} from './support/oauth';

const SECRET_ROW = 'Ada Lovelace,London';

/**
 * A second workspace's credentials against every endpoint and every id of the
 * first: 404/4040 every time, and none of the first workspace's data in any body.
 */
describe(`Tenant isolation (${STACK_MODE})`, () => {
  let stack: Stack;
  let other: ApiClient;
  /** The second workspace's user, through OAuth: the same sweep with a Bearer token. */
  let otherBearer: ApiClient;
  let pipeline: Pipeline;
  let job: Job;
  let key: CreatedApiKey;
  let user: User;
  let app: CreatedOAuthClient;
  let source: DataSource;

  beforeAll(async () => {
    stack = await Stack.start();
    stack.writeData('fake/data.csv', `id,name,city\n1,${SECRET_ROW}\n`);
    pipeline = await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY);
    job = await waitForJob(
      stack.api(),
      (await submitJob(stack.api(), { pipelineId: pipeline.id })).jobId,
    );
    key = (await stack.api().post<CreatedApiKey>('/api/v1/api-keys', { name: 'first ws key' }))
      .body;
    user = await createUser(stack.api(), 'first-ws-user', 'first workspace password');
    source = (
      await stack.api().post<DataSource>('/api/v1/datasources', {
        type: 'postgres',
        name: 'first ws warehouse',
        connectionString: 'postgres://first:pw@first-ws-db.internal/warehouse',
      })
    ).body;
    app = await registerClient(stack.api(), {
      name: 'first ws app',
      redirectUris: ['https://first.example/cb'],
    });
    const created = await stack.api().post<CreatedWorkspace>('/api/v1/workspaces', {
      name: 'second',
    });
    expect(created.status).toBe(201);
    expect(created.body.adminKey.key).toMatch(/^cfk_/);
    other = stack.api(`ApiKey ${created.body.adminKey.key}`);
    await createUser(other, 'second-ws-user', 'second workspace password', ['admin']);
    const otherApp = await registerClient(other, {
      name: 'second ws app',
      type: 'public',
      redirectUris: ['http://127.0.0.1:9999/cb'],
      scopes: ['admin'],
    });
    const { verifier, challenge } = pkce();
    const back = await authorizeAndApprove(
      new Browser(stack.gateway.baseUrl),
      { clientId: otherApp.id, redirectUri: 'http://127.0.0.1:9999/cb', challenge, method: 'S256' },
      { username: 'second-ws-user', password: 'second workspace password' },
    );
    const token = await requestToken(stack.gateway.baseUrl, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code') ?? '',
      client_id: otherApp.id,
      redirect_uri: 'http://127.0.0.1:9999/cb',
      code_verifier: verifier,
    });
    otherBearer = stack.api(`Bearer ${token.body.access_token ?? ''}`);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** Nothing that identifies the first workspace's data may appear. */
  const expectNoLeak = (text: string) => {
    for (const secret of [
      SECRET_ROW,
      'ADA LOVELACE',
      'MyFakePipeline',
      key.prefix,
      'first ws key',
      'first-ws-user',
      'first ws app',
      'https://first.example/cb',
      'first ws warehouse',
      'first-ws-db.internal',
    ]) {
      expect(text).not.toContain(secret);
    }
  };

  it('the second workspace is its own', async () => {
    const res = await other.get<Workspace>('/api/v1/workspaces/current');
    expect(res.status).toBe(200);
    expect(res.body.id).toMatch(/^ws_/);
    expect(res.body.id).not.toBe('ws_default');
    expect(job.status).toBe('SUCCEEDED');
  });

  it('answers 404/4040 on every endpoint for every id of the first workspace', async () => {
    const p = pipeline.id;
    const j = job.jobId;
    const calls: [string, string, unknown?][] = [
      ['GET', `/api/v1/pipelines/${p}`],
      ['PUT', `/api/v1/pipelines/${p}`, { name: 'taken over' }],
      ['DELETE', `/api/v1/pipelines/${p}`],
      ['POST', '/api/v1/jobs', { pipelineId: p }],
      ['GET', `/api/v1/jobs/${j}`],
      ['GET', `/api/v1/jobs/${j}/status`],
      ['GET', `/api/v1/jobs/${j}/results`],
      ['GET', `/api/v1/jobs/${j}/rejected`],
      ['POST', `/api/v1/jobs/${j}/cancel`],
      ['POST', `/api/v1/jobs/${j}/rerun`],
      ['GET', `/api/v1/api-keys/${key.id}`],
      ['DELETE', `/api/v1/api-keys/${key.id}`],
      ['GET', `/api/v1/users/${user.id}`],
      ['DELETE', `/api/v1/users/${user.id}`],
      ['GET', `/api/v1/oauth/clients/${app.id}`],
      ['DELETE', `/api/v1/oauth/clients/${app.id}`],
      ['GET', `/api/v1/datasources/${source.id}`],
      ['PUT', `/api/v1/datasources/${source.id}`, { name: 'taken over' }],
      ['DELETE', `/api/v1/datasources/${source.id}`],
    ];
    for (const [credential, client] of [
      ['admin key', other],
      ['user bearer token', otherBearer],
    ] as const) {
      for (const [method, path, json] of calls) {
        const res = await client.request<ErrorEnvelope>(
          method,
          path,
          json === undefined ? {} : { json },
        );
        expect([credential, method, path, res.status, res.body?.code]).toEqual([
          credential,
          method,
          path,
          404,
          4040,
        ]);
        expectNoLeak(res.text);
      }
    }
  });

  it('keeps usernames apart: the second workspace may take a name the first uses', async () => {
    const res = await other.post<User>('/api/v1/users', {
      username: 'first-ws-user',
      password: 'another password entirely',
    });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(user.id);
    expectNoLeak(res.text.replace(/first-ws-user/g, ''));
    // Gone again, so the listings below hold nothing named like the first's.
    expect((await other.delete(`/api/v1/users/${res.body.id}`)).status).toBe(204);
  });

  it('lists none of the first workspace’s resources', async () => {
    for (const path of [
      '/api/v1/pipelines?limit=100',
      '/api/v1/jobs?limit=100',
      '/api/v1/api-keys?limit=100',
      '/api/v1/users?limit=100',
      '/api/v1/oauth/clients?limit=100',
      '/api/v1/datasources?limit=100',
    ]) {
      const res = await other.get(path);
      expect([path, res.status]).toEqual([path, 200]);
      for (const id of [pipeline.id, job.jobId, key.id, user.id, app.id, source.id]) {
        expect(res.text).not.toContain(id);
      }
      expectNoLeak(res.text);
    }
  });

  it('cannot read the first workspace’s files: its paths resolve in its own data root', async () => {
    const own = await createPipeline(other, {
      name: 'snoop',
      steps: [{ type: 'source', config: { path: '/fake/data.csv' } }],
    });
    const res = await other.post<ErrorEnvelope>('/api/v1/jobs', { pipelineId: own.id });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 4001 });
    expect(res.body.details).toMatch(/does not exist under the data root/);
    expectNoLeak(res.text);
  });

  it('cannot create workspaces, and left the first workspace’s resources untouched', async () => {
    const res = await other.post<ErrorEnvelope>('/api/v1/workspaces', { name: 'third' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe(4030);
    expect((await stack.api().get<Pipeline>(`/api/v1/pipelines/${pipeline.id}`)).body).toEqual(
      pipeline,
    );
    expect((await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}`)).body.status).toBe('SUCCEEDED');
    const stillValid = stack.api(`ApiKey ${key.key}`);
    expect((await stillValid.get('/api/v1/pipelines')).status).toBe(200);
    expect((await stack.api().get(`/api/v1/users/${user.id}`)).status).toBe(200);
    expect((await stack.api().get(`/api/v1/oauth/clients/${app.id}`)).status).toBe(200);
    expect((await stack.api().get<DataSource>(`/api/v1/datasources/${source.id}`)).body).toEqual(
      source,
    );
  });
});
