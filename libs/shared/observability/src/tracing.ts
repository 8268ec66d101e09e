import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { IncomingMessage } from 'node:http';
import { currentService } from './request-context';

export interface TracingOptions {
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Probes and scrapes: no spans for them. */
export function isUntracedPath(url: string | undefined): boolean {
  return UNTRACED_PATHS.has((url ?? '').split('?')[0] ?? '');
}

/**
 * Names the service a span was started for (`cloudflow.service`) when
 * several services share the process (standalone mode) and so one resource:
 * the service whose code started it, as `runAsService` says.
 */
export class ServiceAttributeSpanProcessor implements SpanProcessor {
  onStart(span: Span): void {
    const service = currentService();
    if (service) span.setAttribute('cloudflow.service', service);
  }

  onEnd(_span: ReadableSpan): void {
    // Nothing to do once a span ends.
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Starts OpenTelemetry. Must run before anything it instruments is loaded,
 * which is why every service's main.ts imports its tracing file first.
 * Spans are exported over OTLP/HTTP (protobuf) when OTEL_EXPORTER_OTLP_ENDPOINT
 * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; otherwise they are made but
 * not kept, so trace and span ids still reach the log lines (PinoInstrumentation's
 * `trace_id`/`span_id`) and the messages.
 */
export function startTracing(
  serviceName: string,
  options: TracingOptions = {},
): NodeSDK | undefined {
  const env = options.env ?? process.env;
  if (env['OTEL_SDK_DISABLED'] === 'true') return undefined;

  const exporting = Boolean(
    env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
  );
  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (exporting) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  // Spans say which service started them (several share a standalone process).
  if (spanProcessors.length > 0) spanProcessors.unshift(new ServiceAttributeSpanProcessor());
  // Nothing records them: spans are still made (and dropped), so that log lines and
  // messages carry trace ids; without a processor the SDK registers no tracer provider.
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': env['OTEL_SERVICE_NAME'] ?? `cloudflow-${serviceName}`,
      'service.namespace': 'cloudflow',
    }),
    spanProcessors,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) => isUntracedPath(req.url),
      }),
      new MongoDBInstrumentation(),
      new PinoInstrumentation(),
    ],
  });
  sdk.start();
  return sdk;
}
