import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { runAsService } from './request-context';
import {
  continueStoredTrace,
  endSpan,
  startSpan,
  storedTraceContext,
  traceContextToStore,
  withSpan,
} from './trace-headers';
import { ServiceAttributeSpanProcessor } from './tracing';

const exporter = new InMemorySpanExporter();

beforeAll(() => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [new ServiceAttributeSpanProcessor(), new SimpleSpanProcessor(exporter)],
    }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterEach(() => exporter.reset());

const finished = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

describe('a stored trace context', () => {
  it('is the active span as traceparent, and continues it later', async () => {
    const stored = await withSpan('submit', 'server', {}, () =>
      Promise.resolve(traceContextToStore()),
    );
    expect(stored).toEqual({
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    });

    // Later, in no request at all: the span continues the submitting one.
    await withSpan('plan', 'internal', {}, () => Promise.resolve(), storedTraceContext(stored));
    const [submit] = finished('submit');
    const [plan] = finished('plan');
    expect(plan!.spanContext().traceId).toBe(submit!.spanContext().traceId);
    expect(plan!.parentSpanContext?.spanId).toBe(submit!.spanContext().spanId);
  });

  it('keeps tracestate with it', () => {
    const parent = propagation.extract(ROOT_CONTEXT, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=value',
    });
    expect(traceContextToStore(parent)).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=value',
    });
  });

  it('is nothing outside a trace, and nothing stored starts a new trace', async () => {
    expect(traceContextToStore(ROOT_CONTEXT)).toBeUndefined();
    expect(storedTraceContext(undefined)).toBe(ROOT_CONTEXT);
    await withSpan('old job', 'internal', {}, () => Promise.resolve(), storedTraceContext(null));
    expect(finished('old job')[0]!.parentSpanContext).toBeUndefined();
  });
});

describe('continueStoredTrace', () => {
  const stored = {
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  };

  it('stays under the active span when that one is of the stored trace', async () => {
    await withSpan(
      'sweep',
      'internal',
      {},
      () =>
        withSpan('dispatch', 'producer', {}, () => Promise.resolve(), continueStoredTrace(stored)),
      storedTraceContext(stored),
    );
    const [sweep] = finished('sweep');
    expect(finished('dispatch')[0]!.parentSpanContext?.spanId).toBe(sweep!.spanContext().spanId);
  });

  it('goes under the stored context from another trace or none', async () => {
    await withSpan('cancel request', 'server', {}, () =>
      withSpan('dispatch', 'producer', {}, () => Promise.resolve(), continueStoredTrace(stored)),
    );
    const [dispatch] = finished('dispatch');
    expect(dispatch!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(dispatch!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(continueStoredTrace(undefined)).toBe(ROOT_CONTEXT);
  });
});

describe('startSpan and endSpan', () => {
  it('make spans for a batch, each with a context of its own, failed with the error', () => {
    const spans = ['a', 'b'].map((name) => startSpan(name, 'producer', { n: name }));
    const [a, b] = spans;
    expect(trace.getSpan(a!.context)).toBe(a!.span);
    expect(trace.getSpan(b!.context)).toBe(b!.span);
    endSpan(a!.span);
    endSpan(b!.span, new Error('broker down'));
    expect(finished('a')[0]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(finished('b')[0]!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'broker down',
    });
  });
});

describe('ServiceAttributeSpanProcessor', () => {
  it('names the service that started a span, when one says so', async () => {
    await runAsService('worker', () =>
      withSpan('in worker', 'internal', {}, () => Promise.resolve()),
    );
    await withSpan('unnamed', 'internal', {}, () => Promise.resolve());
    expect(finished('in worker')[0]!.attributes['cloudflow.service']).toBe('worker');
    expect(finished('unnamed')[0]!.attributes['cloudflow.service']).toBeUndefined();
  });
});
