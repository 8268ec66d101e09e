import { createServer } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { traceRequests } from './request-span';

const exporter = new InMemorySpanExporter();
let app: FastifyInstance;
/** The span each handler saw as active. */
let seen: string | undefined;

beforeAll(async () => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  app = Fastify();
  traceRequests(app);
  app.post('/api/v1/jobs/:jobId/cancel', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    seen = trace.getActiveSpan()?.spanContext().spanId;
    return { ok: true };
  });
  app.get('/boom', async (_request, reply) => reply.code(503).send({ error: 'unavailable' }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.ready();
});

afterAll(() => app.close());

afterEach(() => {
  exporter.reset();
  seen = undefined;
});

describe('traceRequests', () => {
  it("gives a request a server span named after its route, active in the handler, continuing the caller's trace", async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/jobs/job_1/cancel?x=1',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.statusCode).toBe(200);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('POST /api/v1/jobs/:jobId/cancel');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/api/v1/jobs/:jobId/cancel',
      'url.path': '/api/v1/jobs/job_1/cancel',
      'http.response.status_code': 200,
    });
    expect(seen).toBe(span?.spanContext().spanId);
  });

  it('starts a trace without a caller, and marks server errors', async () => {
    await app.inject({ method: 'GET', url: '/boom' });
    const [span] = exporter.getFinishedSpans();
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['http.response.status_code']).toBe(503);
  });

  it('leaves probes untraced', async () => {
    await app.inject({ method: 'GET', url: '/healthz' });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('adds nothing where instrumentation already made the request a span', async () => {
    // As the HTTP instrumentation does: the server emits each request inside a span of its own.
    let outer: Span | undefined;
    const instrumented = Fastify({
      serverFactory: (handler) =>
        createServer((req, res) => {
          outer = trace.getTracer('test').startSpan('instrumented');
          context.with(trace.setSpan(context.active(), outer), () => handler(req, res));
          res.on('finish', () => outer?.end());
        }),
    });
    traceRequests(instrumented);
    instrumented.get('/x', async () => {
      seen = trace.getActiveSpan()?.spanContext().spanId;
      return {};
    });
    const url = await instrumented.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fetch(`${url}/x`)).status).toBe(200);
    } finally {
      await instrumented.close();
    }
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['instrumented']);
    expect(seen).toBe(outer?.spanContext().spanId);
  });
});
