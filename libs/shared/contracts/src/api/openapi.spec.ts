import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_ROUTES, CreatePipelineBodySchema, UpdatePipelineBodySchema } from './api-routes';
import { openApiJson } from './openapi';
import { SubmitJobRequestSchema } from '../jobs/job';
import {
  CreateDataSourceRequestSchema,
  TestConnectionRequestSchema,
} from '../datasources/datasource';

const COMMITTED = join(__dirname, '../../../../../docs/openapi.json');

type Json = Record<string, unknown>;

/** Every `$ref` in the document, with where it points. */
function refsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(value);
      else refsOf(value, out);
    }
  }
  return out;
}

describe('the OpenAPI document', () => {
  const text = openApiJson();
  const doc = JSON.parse(text) as Json & {
    paths: Record<string, Record<string, Json & { responses: Record<string, unknown> }>>;
  };

  it('is the committed docs/openapi.json (run `npm run openapi` after changing the API)', () => {
    expect(readFileSync(COMMITTED, 'utf8')).toBe(text);
  });

  it('is OpenAPI 3.1 with both published security schemes', () => {
    expect(doc['openapi']).toBe('3.1.0');
    expect((doc['components'] as Json)['securitySchemes']).toMatchObject({
      ApiKey: { type: 'apiKey', in: 'header', name: 'Authorization' },
      Bearer: { type: 'http', scheme: 'bearer' },
    });
  });

  it('resolves every $ref inside the document', () => {
    const unresolved = refsOf(doc).filter((ref) => {
      let node: unknown = doc;
      for (const part of ref.replace(/^#\//, '').split('/')) {
        node = (node as Record<string, unknown> | undefined)?.[part];
      }
      return node === undefined;
    });
    expect(unresolved).toEqual([]);
  });

  it('gives every operation a unique id, a success answer and the error envelope', () => {
    const operations = Object.values(doc.paths).flatMap((byMethod) => Object.values(byMethod));
    expect(operations).toHaveLength(API_ROUTES.length);
    const ids = operations.map((o) => o['operationId']);
    expect(new Set(ids).size).toBe(ids.length);
    for (const operation of operations) {
      const statuses = Object.keys(operation.responses);
      expect(statuses.some((s) => /^[23]/.test(s))).toBe(true);
      expect(operation.responses['429']).toEqual({ $ref: '#/components/responses/Error429' });
    }
  });

  it('shows the rate-limit answer with retry_after, as the published API does', () => {
    const envelope = (doc['components'] as { schemas: Record<string, Json> }).schemas[
      'ErrorEnvelope'
    ] as { properties: Record<string, unknown> };
    expect(Object.keys(envelope.properties)).toEqual(
      expect.arrayContaining(['error', 'code', 'details', 'retry_after']),
    );
  });

  it('has examples the API itself accepts', () => {
    const schemas: Record<string, { safeParse(v: unknown): { success: boolean } }> = {
      createPipeline: CreatePipelineBodySchema,
      updatePipeline: UpdatePipelineBodySchema,
      submitJob: SubmitJobRequestSchema,
      createDataSource: CreateDataSourceRequestSchema,
      testConnection: TestConnectionRequestSchema,
    };
    for (const [operationId, schema] of Object.entries(schemas)) {
      const route = API_ROUTES.find((r) => r.operationId === operationId);
      expect(route?.example).toBeDefined();
      expect(schema.safeParse(route?.example).success).toBe(true);
    }
  });
});
