import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IncomingMessage } from 'node:http';

export interface TracingOptions {
  /** Extra processors, e.g. an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Starts OpenTelemetry. Must run before anything it instruments is loaded,
 * which is why every service's main.ts imports its tracing file first.
 * Spans are exported over OTLP/HTTP (protobuf) when OTEL_EXPORTER_OTLP_ENDPOINT
 * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; otherwise they are created
 * (so trace ids reach logs and Kafka headers) but not exported.
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

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': env['OTEL_SERVICE_NAME'] ?? `cloudflow-${serviceName}`,
      'service.namespace': 'cloudflow',
    }),
    spanProcessors,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      }),
      new MongoDBInstrumentation(),
      new PinoInstrumentation(),
    ],
  });
  sdk.start();
  return sdk;
}
