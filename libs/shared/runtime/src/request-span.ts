import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Span,
} from '@opentelemetry/api';
import { isUntracedPath } from '@cloudflow/observability';

const tracer = trace.getTracer('cloudflow-http');

/**
 * Gives every HTTP request a server span when nothing made one already: the
 * OpenTelemetry HTTP instrumentation does in a service's own process (it
 * patches Node's http module at start-up), but not where that module was
 * loaded before tracing started, e.g. services composed in a test process.
 * The span continues the caller's `traceparent`, is named after the route
 * (`POST /api/v1/jobs`), is active while the request is handled (so the calls
 * made for it belong to it) and ends with the response.
 */
export function traceRequests(fastify: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (isUntracedPath(request.url) || trace.getActiveSpan()) {
      done();
      return;
    }
    const parent = propagation.extract(context.active(), request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0] ?? '',
          ...(route && { 'http.route': route }),
        },
      },
      parent,
    );
    spans.set(request, span);
    context.with(trace.setSpan(parent, span), done);
  });
  const end = (request: FastifyRequest, status: number | undefined) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    if (status === undefined || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  fastify.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  // The client went away before the answer: the span ends without a status code.
  fastify.addHook('onRequestAbort', (request, done) => {
    end(request, undefined);
    done();
  });
}
