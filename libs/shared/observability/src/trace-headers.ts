import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

/** Kafka headers as kafkajs hands them over. */
export type MessageHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

const headerGetter: TextMapGetter<MessageHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** Writes the active trace context (W3C traceparent/tracestate) into message headers. */
export function injectTraceContext(
  headers: Record<string, string>,
  ctx: Context = context.active(),
): void {
  propagation.inject(ctx, headers);
}

/** Reads a trace context from message headers. */
export function extractTraceContext(headers: MessageHeaders): Context {
  return propagation.extract(context.active(), headers, headerGetter);
}

const tracer = trace.getTracer('cloudflow-messaging');

/** Runs `work` inside a span that continues the trace of `parent`. */
export async function withSpan<T>(
  name: string,
  kind: 'producer' | 'consumer' | 'client' | 'server' | 'internal',
  attributes: Record<string, string | number>,
  work: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const spanKind = {
    producer: SpanKind.PRODUCER,
    consumer: SpanKind.CONSUMER,
    client: SpanKind.CLIENT,
    server: SpanKind.SERVER,
    internal: SpanKind.INTERNAL,
  }[kind];
  const span = tracer.startSpan(name, { kind: spanKind, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    throw error;
  } finally {
    span.end();
  }
}

/** The current trace id, for log lines and error bodies. */
export function currentTraceId(): string | undefined {
  return trace.getSpan(context.active())?.spanContext().traceId;
}
