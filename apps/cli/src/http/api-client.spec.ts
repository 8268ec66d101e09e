import { ApiError, NetworkError, UnexpectedAnswerError } from '../cli-errors';
import { FakeCloudFlow } from '../testing/cli-harness';
import { ApiClient, networkReason } from './api-client';

describe('ApiClient', () => {
  let server: FakeCloudFlow;

  beforeEach(async () => {
    server = await new FakeCloudFlow().start();
  });

  afterEach(() => server.stop());

  const apiKey = { header: () => Promise.resolve('ApiKey cfk_test') };

  it('sends the credential and JSON, and reads JSON back', async () => {
    server.on('POST', '/api/v1/pipelines', { status: 201, body: { id: 'pl_1' } });

    const body = await new ApiClient(server.url, apiKey).post('/api/v1/pipelines', { name: 'x' });

    expect(body).toEqual({ id: 'pl_1' });
    const [req] = server.requests;
    expect(req?.headers['authorization']).toBe('ApiKey cfk_test');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ name: 'x' });
  });

  it('keeps the path prefix of a server behind a reverse proxy', async () => {
    server.on('GET', '/cloudflow/api/v1/pipelines', { status: 200, body: { items: [] } });

    await new ApiClient(`${server.url}/cloudflow`, apiKey).get('/api/v1/pipelines', { limit: 5 });

    expect(server.requests[0]).toMatchObject({ path: '/cloudflow/api/v1/pipelines' });
    expect(server.requests[0]?.query.get('limit')).toBe('5');
  });

  it('turns an error envelope into an ApiError, with retry_after for a 429', async () => {
    server.on('GET', '/api/v1/jobs', {
      status: 429,
      body: { error: 'Rate limit exceeded', code: 4290, details: 'slow down', retry_after: 7 },
      headers: { 'Retry-After': '7' },
    });

    const failure = new ApiClient(server.url, apiKey).get('/api/v1/jobs');

    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({
      status: 429,
      retryAfter: 7,
      envelope: { code: 4290, details: 'slow down' },
    });
  });

  it("takes an OAuth error's description as the details", async () => {
    server.on('POST', '/api/v1/oauth/token', {
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: 'Invalid grant: code has expired',
        code: 4000,
      },
    });

    await expect(
      new ApiClient(server.url, undefined).request('POST', '/api/v1/oauth/token', {
        authenticate: false,
        form: { code: 'x' },
      }),
    ).rejects.toMatchObject({
      envelope: { error: 'invalid_grant', details: 'Invalid grant: code has expired' },
    });
    expect(server.requests[0]?.headers['authorization']).toBeUndefined();
    expect(server.requests[0]?.body).toBe('code=x');
  });

  it('says when an answer is not CloudFlow’s (a proxy page, say)', async () => {
    server.on('GET', '/api/v1/pipelines', { status: 502, body: ['not', 'an', 'envelope'] });

    await expect(new ApiClient(server.url, apiKey).get('/api/v1/pipelines')).rejects.toBeInstanceOf(
      UnexpectedAnswerError,
    );
  });

  it('renews the credential once after a 401, then tries again', async () => {
    let token = 'old';
    let renewals = 0;
    server.on('GET', '/api/v1/pipelines', (req) =>
      req.headers['authorization'] === 'Bearer new'
        ? { status: 200, body: { items: [], nextCursor: null } }
        : { status: 401, body: { error: 'Unauthorized', code: 4010, details: 'expired' } },
    );
    const client = new ApiClient(server.url, {
      header: () => Promise.resolve(`Bearer ${token}`),
      renew: () => {
        renewals++;
        token = 'new';
        return Promise.resolve(true);
      },
    });

    await expect(client.get('/api/v1/pipelines')).resolves.toEqual({ items: [], nextCursor: null });
    expect(renewals).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it('follows nextCursor through every page', async () => {
    server.on('GET', '/api/v1/pipelines', (req) =>
      req.query.get('cursor') === 'c2'
        ? { status: 200, body: { items: [3], nextCursor: null } }
        : { status: 200, body: { items: [1, 2], nextCursor: 'c2' } },
    );
    const items: number[] = [];

    for await (const page of new ApiClient(server.url, apiKey).pages<number>('/api/v1/pipelines', {
      limit: 2,
    })) {
      items.push(...page);
    }

    expect(items).toEqual([1, 2, 3]);
    expect(server.requests.map((r) => r.query.toString())).toEqual([
      'limit=2',
      'limit=2&cursor=c2',
    ]);
  });

  it('names the URL it could not reach', async () => {
    const url = server.url;
    await server.stop();

    const failure = new ApiClient(url, apiKey).get('/api/v1/pipelines');

    await expect(failure).rejects.toBeInstanceOf(NetworkError);
    await expect(failure).rejects.toThrow(
      `cannot reach ${url}/api/v1/pipelines: connection refused (is CloudFlow running there? see --url)`,
    );
  });

  it('says why fetch failed in words', () => {
    const failed = (code: string) =>
      Object.assign(new TypeError('fetch failed'), { cause: { code } });

    expect(networkReason(failed('ENOTFOUND'), 30_000)).toBe('host not found');
    expect(networkReason(failed('ECONNRESET'), 30_000)).toBe('connection reset');
    expect(networkReason(Object.assign(new Error('t'), { name: 'TimeoutError' }), 30_000)).toBe(
      'no answer within 30 s',
    );
  });
});
