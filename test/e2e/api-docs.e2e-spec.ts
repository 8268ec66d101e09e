import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorEnvelope } from '@cloudflow/contracts';
import { Stack, STACK_MODE } from './support/stack';

/** The API describes itself: the OpenAPI document and the interactive reference, without a credential. */
describe(`API description (${STACK_MODE})`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the committed OpenAPI 3.1 document at /api/v1/openapi.json to anyone', async () => {
    const res = await stack
      .api(null)
      .get<{ openapi: string; paths: Record<string, unknown> }>('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const committed = readFileSync(join(__dirname, '../../docs/openapi.json'), 'utf8');
    expect(res.body).toEqual(JSON.parse(committed));
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/pipelines', '/api/v1/jobs/{jobId}/status']),
    );
  });

  it('serves the interactive reference at /docs with its own scripts under a strict policy', async () => {
    const page = await stack.api(null).get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('/docs/assets/swagger-ui-bundle.js');
    for (const [asset, type] of [
      ['swagger-ui-bundle.js', 'text/javascript'],
      ['swagger-ui.css', 'text/css'],
      ['init.js', 'text/javascript'],
    ]) {
      const res = await stack.api(null).get(`/docs/assets/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
    }
    const init = await stack.api(null).get('/docs/assets/init.js');
    expect(init.text).toContain("url: '/api/v1/openapi.json'");
  });

  it('answers an unknown asset with the error envelope, never a file outside the package', async () => {
    for (const name of ['nope.js', '..%2F..%2Fpackage.json', '%2e%2e%2fLICENSE']) {
      const res = await stack.api(null).get<ErrorEnvelope>(`/docs/assets/${name}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(4040);
    }
  });
});
