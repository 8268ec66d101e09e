import type { CreatedApiKey, ErrorEnvelope, Pipeline } from '@cloudflow/contracts';
import { ApiClient, SPEC_CREATE_PIPELINE_BODY } from '@cloudflow/testing';
import { Stack, eventually } from './support/stack';
import { requestToken } from './support/oauth';

const WINDOW_SECONDS = 3600;
const PER_PRINCIPAL = 20;
const COSTLY = 3;
const ANONYMOUS = 15;

/** The `r` (remaining) of one policy in a `RateLimit` header. */
function remaining(headers: Headers, policy: string): number | undefined {
  const match = new RegExp(`"${policy}";r=(\\d+);t=(\\d+)`).exec(headers.get('ratelimit') ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Rate limits with two gateway processes sharing one quota per principal:
 * the request that crosses it gets the published 429 body on either process;
 * costly routes have a tighter quota; callers without a valid credential are
 * counted per IP; every answer carries the IETF RateLimit fields.
 */
describe('Rate limits across two gateways (distributed stack)', () => {
  let stack: Stack;
  let gateways: [ApiClient, ApiClient];

  beforeAll(async () => {
    // Windows are fixed hours: do not start a minute before one ends.
    const msLeft = WINDOW_SECONDS * 1000 - (Date.now() % (WINDOW_SECONDS * 1000));
    if (msLeft < 90_000) await new Promise((resolve) => setTimeout(resolve, msLeft + 1_000));
    stack = await Stack.start({
      RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
      // The admin key sets the suite up; the quota under test is each fresh key's.
      RATE_LIMIT_REQUESTS: String(PER_PRINCIPAL),
      RATE_LIMIT_COSTLY_REQUESTS: String(COSTLY),
      RATE_LIMIT_ANONYMOUS_REQUESTS: String(ANONYMOUS),
      // The test plays the Ingress: X-Forwarded-For from loopback names the client.
      TRUST_PROXY: '127.0.0.1',
    });
    const second = await stack.addReplica('gateway');
    gateways = [stack.api(null), new ApiClient(second.baseUrl)];
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const freshKey = async (): Promise<CreatedApiKey> => {
    const res = await stack.api().post<CreatedApiKey>('/api/v1/api-keys', { name: 'quota' });
    expect(res.status).toBe(201);
    return res.body;
  };
  const as = (gateway: ApiClient, key: string) => gateway.withAuthorization(`ApiKey ${key}`);

  it.each([0, 1])(
    'shares one quota per key between both gateways; crossing it on gateway %i gets the 429 body',
    async (crossing) => {
      const { key } = await freshKey();
      // Requests alternate so that request number PER_PRINCIPAL + 1 lands on `crossing`.
      for (let n = 1; n <= PER_PRINCIPAL; n += 1) {
        const gateway = gateways[(n + crossing + 1) % 2]!;
        const res = await as(gateway, key).get('/api/v1/pipelines');
        expect([n, res.status]).toEqual([n, 200]);
        expect(res.headers.get('ratelimit-policy')).toBe(
          `"default";q=${PER_PRINCIPAL};w=${WINDOW_SECONDS}`,
        );
        expect([n, remaining(res.headers, 'default')]).toEqual([n, PER_PRINCIPAL - n]);
      }
      const over = await as(gateways[crossing]!, key).get<ErrorEnvelope>('/api/v1/pipelines');
      expect(over.status).toBe(429);
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
      expect(over.body).toEqual({
        error: 'Rate limit exceeded',
        retry_after: retryAfter,
        code: 4290,
        details: `Too many requests; try again in ${retryAfter} s`,
      });
      expect(remaining(over.headers, 'default')).toBe(0);
      const otherGateway = await as(gateways[1 - crossing]!, key).get<ErrorEnvelope>(
        '/api/v1/pipelines',
      );
      expect([otherGateway.status, otherGateway.body.code]).toEqual([429, 4290]);
      // Another caller's quota is its own.
      expect(
        (await as(gateways[crossing]!, (await freshKey()).key).get('/api/v1/pipelines')).status,
      ).toBe(200);
    },
  );

  it('gives job submission a tighter quota of its own, on top of the default', async () => {
    const { key } = await freshKey();
    stack.writeData('fake/data.csv', 'id,name\n1,Ada\n');
    const pipeline = await as(gateways[0], key).post<Pipeline>(
      '/api/v1/pipelines',
      SPEC_CREATE_PIPELINE_BODY,
    );
    expect(pipeline.status).toBe(201);
    for (let n = 1; n <= COSTLY; n += 1) {
      const res = await as(gateways[n % 2]!, key).post('/api/v1/jobs', {
        pipelineId: pipeline.body.id,
      });
      expect([n, res.status]).toEqual([n, 202]);
      expect(res.headers.get('ratelimit-policy')).toBe(
        `"default";q=${PER_PRINCIPAL};w=${WINDOW_SECONDS}, "costly";q=${COSTLY};w=${WINDOW_SECONDS}`,
      );
      expect(remaining(res.headers, 'costly')).toBe(COSTLY - n);
    }
    const over = await as(gateways[1], key).post<ErrorEnvelope>('/api/v1/jobs', {
      pipelineId: pipeline.body.id,
    });
    expect([over.status, over.body.error, over.body.code]).toEqual([
      429,
      'Rate limit exceeded',
      4290,
    ]);
    expect(over.body.retry_after).toBeGreaterThan(0);
    // Reading goes on: the default quota is far from used up.
    const read = await as(gateways[0], key).get('/api/v1/jobs');
    expect(read.status).toBe(200);
    expect(read.headers.get('ratelimit-policy')).toBe(
      `"default";q=${PER_PRINCIPAL};w=${WINDOW_SECONDS}`,
    );
  });

  it('refuses a revoked key on both gateways within 5 seconds', async () => {
    const created = await freshKey();
    for (const gateway of gateways)
      expect((await as(gateway, created.key).get('/api/v1/pipelines')).status).toBe(200);
    expect((await stack.api().delete(`/api/v1/api-keys/${created.id}`)).status).toBe(204);
    const refused = await eventually(
      async () => {
        const answers = await Promise.all(
          gateways.map((gateway) =>
            as(gateway, created.key).get<ErrorEnvelope>('/api/v1/pipelines'),
          ),
        );
        return answers.every((res) => res.status === 401 && res.body.code === 4010);
      },
      5_000,
      100,
    );
    expect(refused).toBeLessThan(5_000);
  });

  it('counts callers without a valid credential per IP, then refuses that IP whatever it sends', async () => {
    const valid = (await freshKey()).key;
    const first = await gateways[0]
      .withAuthorization('ApiKey cfk_not-a-real-key')
      .get<ErrorEnvelope>('/api/v1/pipelines');
    expect([first.status, first.body.code]).toEqual([401, 4010]);
    expect(first.headers.get('ratelimit-policy')).toBe(
      `"anonymous";q=${ANONYMOUS};w=${WINDOW_SECONDS}`,
    );
    const left = remaining(first.headers, 'anonymous');
    expect(left).toBeDefined();
    for (let n = 1; n <= left!; n += 1) {
      const res = await gateways[n % 2]!.withAuthorization(`ApiKey cfk_guess-${n}`).get(
        '/api/v1/pipelines',
      );
      expect([n, res.status]).toEqual([n, 401]);
    }
    for (const gateway of gateways) {
      const res = await gateway
        .withAuthorization('ApiKey cfk_one-more')
        .get<ErrorEnvelope>('/api/v1/pipelines');
      expect([res.status, res.body.code, res.body.error]).toEqual([
        429,
        4290,
        'Rate limit exceeded',
      ]);
      expect(Number(res.headers.get('retry-after'))).toBe(res.body.retry_after);
    }
    const token = await requestToken(gateways[1].baseUrl, {
      grant_type: 'client_credentials',
      client_id: 'cli_x',
    });
    expect([token.status, token.body.code]).toEqual([429, 4290]);
    // Past the limit a right key cannot be told from a wrong one: both are refused.
    for (const gateway of gateways) {
      const res = await as(gateway, valid).get<ErrorEnvelope>('/api/v1/pipelines');
      expect([res.status, res.body.code]).toEqual([429, 4290]);
      expect(remaining(res.headers, 'anonymous')).toBe(0);
    }
    // Another client, as the trusted proxy names it, has a quota of its own.
    const elsewhere = { headers: { 'X-Forwarded-For': '203.0.113.7' } };
    const guess = await gateways[1]
      .withAuthorization('ApiKey cfk_guess')
      .get('/api/v1/pipelines', elsewhere);
    expect(guess.status).toBe(401);
    expect(remaining(guess.headers, 'anonymous')).toBe(ANONYMOUS - 1);
    expect((await as(gateways[0], valid).get('/api/v1/pipelines', elsewhere)).status).toBe(200);
  });
});
