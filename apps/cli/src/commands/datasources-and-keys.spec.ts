import type { ApiKey, ConnectionTestResult, CreatedApiKey, DataSource } from '@cloudflow/contracts';
import { FakeCloudFlow, runCli, type RunOptions } from '../testing/cli-harness';

const SOURCE: DataSource = {
  id: 'ds_1',
  name: 'people',
  type: 'file',
  driver: 'file',
  connectionString: 'file:///fake/people.csv',
  createdAt: '2026-01-01T10:00:00.000Z',
  updatedAt: '2026-01-01T10:00:00.000Z',
};

const PASSED: ConnectionTestResult = {
  ok: true,
  driver: 'file',
  stages: [{ stage: 'policy', ok: true, durationMs: 1, message: 'the file is in the data root' }],
  message: 'the file can be read',
};

const KEY: ApiKey = {
  id: 'key_1',
  name: 'nightly export',
  prefix: 'cfk_ab12',
  scopes: ['read'],
  createdAt: '2026-01-01T10:00:00.000Z',
  expiresAt: null,
  revokedAt: null,
};

describe('datasources and api-keys', () => {
  let server: FakeCloudFlow;

  beforeEach(async () => {
    server = await new FakeCloudFlow().start();
    server.on('GET', '/api/v1/datasources', {
      status: 200,
      body: { items: [SOURCE], nextCursor: null },
    });
  });

  afterEach(() => server.stop());

  const cli = (args: string[], options: RunOptions = {}) =>
    runCli(['--url', server.url, ...args], { ...options, env: { CLOUDFLOW_API_KEY: 'cfk_test' } });

  it('creates, lists, tests and deletes a data source by name', async () => {
    server.on('POST', '/api/v1/datasources', { status: 201, body: SOURCE });
    server.on('POST', '/api/v1/datasources/ds_1/test', { status: 200, body: PASSED });
    server.on('DELETE', '/api/v1/datasources/ds_1', { status: 204 });

    const created = await cli([
      'datasources',
      'create',
      '--type',
      'file',
      '--connection-string',
      '/fake/people.csv',
      '--name',
      'people',
    ]);
    expect(created.stdout).toBe(
      "Created data source ds_1 'people' (file: file:///fake/people.csv).\n",
    );
    expect(JSON.parse(server.requestsTo('POST', '/api/v1/datasources')[0]!.body)).toEqual({
      type: 'file',
      connectionString: '/fake/people.csv',
      name: 'people',
    });

    const list = await cli(['datasources', 'list']);
    expect(list.stdout).toMatch(
      /^ID +NAME +DRIVER +CONNECTION +UPDATED\nds_1 +people +file +file:\/\/\/fake\/people.csv/,
    );

    const test = await cli(['datasources', 'test', 'people']);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/policy +ok +1 ms +the file is in the data root/);
    expect(test.stdout).toContain('OK (file): the file can be read');

    const deleted = await cli(['datasources', 'delete', 'people']);
    expect(deleted.stdout).toBe("Deleted data source ds_1 'people'.\n");
  });

  it('exits 1 when a connection test fails, and tests unsaved strings', async () => {
    server.on('POST', '/api/v1/datasources/test', {
      status: 200,
      body: {
        ok: false,
        driver: 'postgres',
        stages: [
          { stage: 'policy', ok: true, durationMs: 0, message: 'allowed' },
          {
            stage: 'dns',
            ok: false,
            durationMs: 3,
            message: "the host 'fake-db' does not resolve",
          },
        ],
        message: "dns: the host 'fake-db' does not resolve",
      },
    });

    const result = await cli([
      'datasources',
      'test',
      '--connection-string',
      'postgres://u:p@fake-db/x',
      '--json',
    ]);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, driver: 'postgres' });
    const usage = await cli(['datasources', 'test']);
    expect(usage.code).toBe(2);
  });

  it('asks for a connection string without echo when none is given on a terminal', async () => {
    server.on('POST', '/api/v1/datasources', { status: 201, body: SOURCE });

    const result = await cli(['datasources', 'create', '--type', 'postgres'], {
      keys: 'postgres://u:secret@db/x\r',
    });

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('Connection string: \n');
    expect(JSON.parse(server.requests.at(-1)!.body)).toMatchObject({
      connectionString: 'postgres://u:secret@db/x',
    });
  });

  it('creates an API key and prints its secret once, lists and revokes', async () => {
    const created: CreatedApiKey = { ...KEY, key: 'cfk_ab12_the-whole-secret' };
    server.on('POST', '/api/v1/api-keys', { status: 201, body: created });
    server.on('GET', '/api/v1/api-keys', { status: 200, body: { items: [KEY], nextCursor: null } });
    server.on('DELETE', '/api/v1/api-keys/key_1', { status: 204 });

    const create = await cli([
      'api-keys',
      'create',
      '--name',
      'nightly export',
      '--scopes',
      'read',
    ]);
    expect(create.stdout).toContain('  cfk_ab12_the-whole-secret\n');
    expect(JSON.parse(server.requestsTo('POST', '/api/v1/api-keys')[0]!.body)).toEqual({
      name: 'nightly export',
      scopes: ['read'],
    });

    const list = await cli(['api-keys', 'list']);
    expect(list.stdout).toMatch(
      /key_1 +nightly export +cfk_ab12… +read +2026-01-01 10:00:00 +never/,
    );
    expect(list.stdout).not.toContain('the-whole-secret');

    const revoke = await cli(['api-keys', 'revoke', 'key_1']);
    expect(revoke.stdout).toBe('Revoked API key key_1.\n');
  });

  it('shows the server’s word when a key may not manage keys', async () => {
    server.on('GET', '/api/v1/api-keys', {
      status: 403,
      body: { error: 'Forbidden', code: 4030, details: "this credential lacks the 'admin' scope" },
    });

    const result = await cli(['api-keys', 'list']);

    expect(result).toMatchObject({
      code: 1,
      stderr: "error: Forbidden (code 4030)\n  this credential lacks the 'admin' scope\n",
    });
  });
});
