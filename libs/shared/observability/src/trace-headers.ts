import {
  ROOT_CONTEXT,
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

/**
 * A trace context kept with a record that outlives the request that made it
 * (a job keeps its submitting request's): the W3C `traceparent` and, when
 * there is one, `tracestate`.
 */
export interface StoredTraceContext {
  traceparent: string;
  tracestate?: string;
}

/** The active trace context, to keep with a record; undefined when there is none (tracing off). */
export function traceContextToStore(
  ctx: Context = context.active(),
): StoredTraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const { traceparent, tracestate } = carrier;
  if (!traceparent) return undefined;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * The context to continue a stored trace in: spans started under it are
 * children of the span that was active when it was stored. Nothing stored
 * (a record from before traces were kept): a new trace.
 */
export function storedTraceContext(stored: StoredTraceContext | null | undefined): Context {
  if (!stored?.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { ...stored });
}

/**
 * Where work done for a record with a stored trace goes: under the active
 * span when that one already belongs to the stored trace (the record's own
 * work asked for it: a sweep of the job, an event of one of its tasks), else
 * directly under the stored context — or in a new trace, nothing stored.
 */
export function continueStoredTrace(stored: StoredTraceContext | null | undefined): Context {
  const parent = storedTraceContext(stored);
  const storedTrace = trace.getSpanContext(parent)?.traceId;
  const active = trace.getSpanContext(context.active());
  return storedTrace !== undefined && active?.traceId === storedTrace ? context.active() : parent;
}

const tracer = trace.getTracer('cloudflow-messaging');

export type SpanKindName = 'producer' | 'consumer' | 'client' | 'server' | 'internal';

const SPAN_KINDS: Record<SpanKindName, SpanKind> = {
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  client: SpanKind.CLIENT,
  server: SpanKind.SERVER,
  internal: SpanKind.INTERNAL,
};

/**
 * Starts a span under `parent` for work that is not one callback (one
 * producer span per message of a batch sent at once): answers the span and
 * the context that continues it; the caller ends it with `endSpan`.
 */
export function startSpan(
  name: string,
  kind: SpanKindName,
  attributes: Record<string, string | number | boolean>,
  parent: Context = context.active(),
): { span: Span; context: Context } {
  const span = tracer.startSpan(name, { kind: SPAN_KINDS[kind], attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a span, marked failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

/** Runs `work` inside a span that continues the trace of `parent`. */
export async function withSpan<T>(
  name: string,
  kind: SpanKindName,
  attributes: Record<string, string | number | boolean>,
  work: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const started = startSpan(name, kind, attributes, parent);
  try {
    const result = await context.with(started.context, () => work(started.span));
    endSpan(started.span);
    return result;
  } catch (error) {
    endSpan(started.span, error);
    throw error;
  }
}

/**
 * Runs periodic `work` for a record (the sweep of a job) in a trace of its
 * own, linked to the record's stored trace: looking at a job every few
 * seconds must not grow the job's trace by a span each time. What the work
 * sends on the record's behalf still joins the record's trace
 * (`continueStoredTrace` finds the active trace is not the stored one).
 */
export async function withLinkedSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: (span: Span) => Promise<T>,
  stored: StoredTraceContext | null | undefined,
): Promise<T> {
  const linked = trace.getSpanContext(storedTraceContext(stored));
  const span = tracer.startSpan(
    name,
    { kind: SpanKind.INTERNAL, attributes, links: linked ? [{ context: linked }] : [] },
    ROOT_CONTEXT,
  );
  try {
    const result = await context.with(trace.setSpan(ROOT_CONTEXT, span), () => work(span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** The current trace id, for log lines and error bodies. */
export function currentTraceId(): string | undefined {
  return trace.getSpan(context.active())?.spanContext().traceId;
}
