import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Topics } from '@cloudflow/contracts';
import { taskId, type JobLogs, type TaskDocument, type TaskLedger } from '@cloudflow/job-store';
import { TopicPublisher, type OutgoingMessage } from '@cloudflow/messaging';
import { storedTraceContext } from '@cloudflow/observability';
import { TaskDispatcher } from './task-dispatcher';

const exporter = new InMemorySpanExporter();

beforeAll(() => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterEach(() => exporter.reset());

class RecordingPublisher extends TopicPublisher {
  readonly sent: { topic: string; messages: OutgoingMessage[] }[] = [];
  failWith?: Error;

  override publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.sent.push({ topic, messages });
    return Promise.resolve();
  }

  override partitionsOf(): Promise<number> {
    return Promise.resolve(4);
  }
}

/** A ledger where every attempt is new and every fence holds. */
const ledger = {
  fence: () => Promise.resolve(true),
  dispatch: () => Promise.resolve(true),
  touchAttempt: () => Promise.resolve(),
} as unknown as TaskLedger;

/** Job log lines go nowhere here. */
const jobLogs = {
  for: () => ({ info: () => undefined, warn: () => undefined, error: () => undefined }),
} as unknown as JobLogs;

function aTask(seq: number, kind: TaskDocument['kind'] = 'range'): TaskDocument {
  return {
    _id: taskId('job_1', seq),
    workspaceId: 'ws_1',
    jobId: 'job_1',
    seq,
    kind,
    ...(kind === 'range' && { range: { start: seq * 10, end: seq * 10 + 10, firstLine: 1 } }),
    createdAt: new Date(),
  };
}

/** The job's stored context: its submitting request's span. */
const JOB_TRACE = {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};

describe('TaskDispatcher', () => {
  it('sends every task in a producer span of its own, whose context the message carries', async () => {
    const publisher = new RecordingPublisher();
    const dispatcher = new TaskDispatcher(ledger, publisher, jobLogs);
    const items = [0, 1, 2].map((seq) => ({ task: aTask(seq), attempt: 1 }));

    await dispatcher.dispatch(items, new Date(), storedTraceContext(JOB_TRACE));

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.attributes['cloudflow.task_id'])).toEqual(
      items.map((i) => i.task._id),
    );
    const [sent] = publisher.sent;
    expect(sent?.topic).toBe(Topics.tasks);
    expect(sent?.messages).toHaveLength(3);
    spans.forEach((span, i) => {
      expect(span.name).toBe('task dispatch');
      expect(span.kind).toBe(SpanKind.PRODUCER);
      expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(span.attributes).toMatchObject({
        'cloudflow.job_id': 'job_1',
        'cloudflow.task_kind': 'range',
        'cloudflow.attempt': 1,
      });
      // The worker's span for the task will be this span's child.
      const { traceId, spanId } = span.spanContext();
      expect(sent?.messages[i]?.traceHeaders).toEqual({
        traceparent: `00-${traceId}-${spanId}-01`,
      });
    });
  });

  it('marks resent attempts, under the active span when no parent is given', async () => {
    const publisher = new RecordingPublisher();
    const dispatcher = new TaskDispatcher(ledger, publisher, jobLogs);
    const tracer = trace.getTracer('test');
    const sweep = tracer.startSpan('sweep');
    await context.with(trace.setSpan(context.active(), sweep), () =>
      dispatcher.resend([{ task: aTask(0, 'finalize'), attempt: 2 }]),
    );
    sweep.end();
    const [dispatch] = exporter.getFinishedSpans().filter((s) => s.name === 'task dispatch');
    expect(dispatch?.parentSpanContext?.spanId).toBe(sweep.spanContext().spanId);
    expect(dispatch?.attributes).toMatchObject({
      'cloudflow.resent': true,
      'cloudflow.task_kind': 'finalize',
      'cloudflow.attempt': 2,
    });
  });

  it('ends the spans as failed when the transport refuses the messages', async () => {
    const publisher = new RecordingPublisher();
    publisher.failWith = new Error('broker unavailable');
    const dispatcher = new TaskDispatcher(ledger, publisher, jobLogs);

    await expect(dispatcher.dispatch([{ task: aTask(0), attempt: 1 }])).rejects.toThrow(
      'broker unavailable',
    );
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'broker unavailable' });
  });
});
