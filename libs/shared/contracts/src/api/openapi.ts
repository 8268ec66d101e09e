import { z } from 'zod';
import { ERROR_CODE_INFO } from '../errors/error-codes';
import { ErrorEnvelopeSchema } from '../errors/error-envelope';
import { API_ROUTES, NAMED_SCHEMAS, type ApiRoute } from './api-routes';

type Json = Record<string, unknown>;

/** Errors every credentialed route may answer, besides its own 400/404. */
const COMMON_ERRORS: Record<number, string> = {
  400: 'The request is malformed or invalid (code 4000 or 4001; `details` says what)',
  401: 'Missing, unknown or revoked credential (code 4010)',
  403: 'The credential lacks the scope this needs (code 4030)',
  404: 'No such resource in this workspace (code 4040)',
  429: 'Over a rate limit (code 4290): `retry_after` and Retry-After say when to come back',
  503: 'A service did not answer in time (code 5030); retry',
};

/**
 * The OpenAPI 3.1 document of the published API, generated from the route
 * catalogue and the zod schemas the services validate with (JSON Schema
 * 2020-12, as OpenAPI 3.1 uses). Deterministic: the same code gives the same
 * document, byte for byte, so CI can compare it with the committed one.
 */
export function buildOpenApiDocument(version: string): Json {
  const components = namedComponents();
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of API_ROUTES) {
    (paths[route.path] ??= {})[route.method] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CloudFlow API',
      version,
      description:
        'Pipelines, jobs and data sources behind one REST API. Authenticate with ' +
        '`Authorization: ApiKey <key>` or an OAuth 2.0 access token (`Authorization: Bearer <token>`). ' +
        'Every error answers the same envelope: `{"error", "code", "details"}`.',
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'npm run stack' }],
    security: [{ ApiKey: [] }, { Bearer: [] }],
    tags: [...new Set(API_ROUTES.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        ApiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'The word `ApiKey`, a space, then the key: `Authorization: ApiKey FAKE-API-KEY-123456`',
        },
        Bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from POST /api/v1/oauth/token',
        },
      },
      schemas: Object.fromEntries(
        [...components.entries()]
          .map(([, { name, json }]) => [name, json])
          .concat([['ErrorEnvelope', plainSchema(ErrorEnvelopeSchema, 'output')]])
          .sort(([a], [b]) => String(a).localeCompare(String(b))),
      ),
      responses: Object.fromEntries(
        Object.entries(COMMON_ERRORS).map(([status, description]) => [
          `Error${status}`,
          {
            description,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } },
            },
          },
        ]),
      ),
    },
    'x-error-codes': Object.fromEntries(
      Object.entries(ERROR_CODE_INFO).map(([code, { status, title }]) => [code, { status, title }]),
    ),
  };

  function operationOf(route: ApiRoute): Json {
    const parameters: Json[] = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...queryParameters(route.query),
      ...(route.idempotencyKey
        ? [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'A repeated request with the same key answers the first job',
              schema: { type: 'string', maxLength: 200 },
            },
          ]
        : []),
    ];
    const operation: Json = {
      operationId: route.operationId,
      tags: [route.tag],
      summary: route.summary,
      ...(route.auth === 'none' && { security: [] }),
      ...(route.costly && { 'x-rate-limit': 'costly' }),
      ...(parameters.length > 0 && { parameters }),
      responses: responsesOf(route),
    };
    if (route.body || route.bodyForms) {
      const schema = route.body ? schemaOf(route.body, 'input') : { type: 'object' };
      const content: Json = {};
      for (const form of route.bodyForms ?? ['json']) {
        const type = form === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
        content[type] = {
          schema,
          ...(route.example !== undefined && form === 'json' && { example: route.example }),
        };
      }
      operation['requestBody'] = { required: true, content };
    }
    return operation;
  }

  function responsesOf(route: ApiRoute): Json {
    const responses: Json = {};
    for (const [status, { description, schema, html }] of Object.entries(route.responses)) {
      responses[status] = {
        description,
        ...((route.location && status !== '200') || status === '201'
          ? { headers: { Location: { schema: { type: 'string' } } } }
          : {}),
        ...(schema && {
          content: { 'application/json': { schema: schemaOf(schema, 'output') } },
        }),
        ...(html && { content: { 'text/html': { schema: { type: 'string' } } } }),
      };
    }
    const errors = route.auth === 'credential' ? Object.keys(COMMON_ERRORS) : ['400', '429', '503'];
    for (const status of errors) {
      responses[status] = { $ref: `#/components/responses/Error${status}` };
    }
    return responses;
  }

  function queryParameters(query: z.ZodObject | undefined): Json[] {
    if (!query) return [];
    const json = plainSchema(query, 'input') as {
      properties?: Record<string, Json>;
      required?: string[];
    };
    return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: json.required?.includes(name) ?? false,
      schema,
    }));
  }

  /** A reference to a named component, or the schema inlined. */
  function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
    const named = components.get(schema);
    return named ? { $ref: `#/components/schemas/${named.name}` } : plainSchema(schema, io);
  }
}

/**
 * The named schemas as JSON Schema, each generated once with the others as
 * references (requests as the API reads them, responses as it writes them).
 */
function namedComponents(): Map<z.ZodType, { name: string; json: Json }> {
  const out = new Map<z.ZodType, { name: string; json: Json }>();
  for (const [io, named] of [
    ['input', NAMED_SCHEMAS.requests],
    ['output', NAMED_SCHEMAS.responses],
  ] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [name, schema] of Object.entries(named)) registry.add(schema, { id: name });
    const { schemas } = z.toJSONSchema(registry, {
      io,
      unrepresentable: 'any',
      target: 'draft-2020-12',
      uri: (id) => `#/components/schemas/${id}`,
    }) as { schemas: Record<string, Json> };
    for (const [name, schema] of Object.entries(named)) {
      const json = { ...schemas[name] };
      delete json['$schema'];
      delete json['id'];
      out.set(schema, { name, json });
    }
  }
  return out;
}

function plainSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Json;
  delete json['$schema'];
  return json;
}

/** The version the published document describes. */
export const API_VERSION = '0.1.0';

/** The document as committed in docs/openapi.json and served at /api/v1/openapi.json. */
export function openApiJson(): string {
  return `${JSON.stringify(buildOpenApiDocument(API_VERSION), null, 2)}\n`;
}
