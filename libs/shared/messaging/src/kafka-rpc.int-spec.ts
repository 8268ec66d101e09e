import {
  Catch,
  Controller,
  Module,
  type INestMicroservice,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { throwError } from 'rxjs';
import {
  AppError,
  KafkaHeaders,
  Topics,
  type Principal,
  type RpcRequest,
} from '@cloudflow/contracts';
import { currentRequestId, runWithRequestId } from '@cloudflow/observability';
import { uniqueName } from '@cloudflow/testing';
import { KafkaRpcClient } from './kafka-rpc.client';
import { KafkaRpcServer } from './kafka-rpc.server';
import { createKafka, ensureTopics, type KafkaLogSink } from './kafka-settings';

const exporter = new InMemorySpanExporter();
const quiet: KafkaLogSink = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};
const principal: Principal = {
  workspaceId: 'ws_it',
  subject: { kind: 'api-key', id: 'key_it' },
  scopes: ['read'],
};

/** What the handler observed, per pipeline id. */
const calls = new Map<string, number>();
const traceIds = new Map<string, string | undefined>();
const requestIds = new Map<string, string | undefined>();

@Controller()
class FakeRegistryController {
  @MessagePattern('pipelines.get')
  async get(@Payload() req: RpcRequest<'pipelines.get'>) {
    calls.set(req.pipelineId, (calls.get(req.pipelineId) ?? 0) + 1);
    traceIds.set(req.pipelineId, trace.getActiveSpan()?.spanContext().traceId);
    requestIds.set(req.pipelineId, currentRequestId());
    if (req.pipelineId === 'pl_missing') throw AppError.notFound('Pipeline', req.pipelineId);
    if (req.pipelineId === 'pl_boom') throw new Error('database password is hunter2');
    return {
      id: req.pipelineId,
      name: `seen by ${req.principal.workspaceId}`,
      steps: [],
      errorPolicy: { mode: 'fail' as const },
      version: 1,
      createdAt: new Date(0).toISOString(),
      updatedAt: new Date(0).toISOString(),
    };
  }
}

@Catch()
class PassThrough implements RpcExceptionFilter {
  catch(exception: unknown) {
    return throwError(() => exception);
  }
}

@Module({ controllers: [FakeRegistryController] })
class FakeRegistryModule {}

describe('Kafka request/reply against a real broker', () => {
  let kafka: Kafka;
  let server: INestMicroservice;
  let client: KafkaRpcClient;
  let producer: Producer;

  beforeAll(async () => {
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

    const service = uniqueName('it-rpc');
    kafka = createKafka({ brokers: process.env['KAFKA_BROKERS']!.split(','), service }, quiet);
    await ensureTopics(kafka, { brokers: [], service });
    server = await NestFactory.createMicroservice(FakeRegistryModule, {
      strategy: new KafkaRpcServer({ kafka, service, log: quiet }),
      logger: false,
    });
    server.useGlobalFilters(new PassThrough());
    await server.listen();
    client = new KafkaRpcClient({
      kafka,
      instanceId: `${service}-client`,
      defaultTimeoutMs: 15_000,
      log: quiet,
    });
    await client.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await client.close();
    await server.close();
  });

  it('answers a call with the handler’s result, checked against the contract', async () => {
    const pipeline = await client.call('pipelines.get', { principal, pipelineId: 'pl_ok' });
    expect(pipeline).toMatchObject({ id: 'pl_ok', name: 'seen by ws_it', version: 1 });
  });

  it('carries a domain error’s code and details to the caller', async () => {
    await expect(
      client.call('pipelines.get', { principal, pipelineId: 'pl_missing' }),
    ).rejects.toMatchObject({
      code: 4040,
      details: "Pipeline 'pl_missing' was not found",
    });
  });

  it('turns an unexpected failure into 5000 without leaking its message', async () => {
    const error = await client
      .call('pipelines.get', { principal, pipelineId: 'pl_boom' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(5000);
    expect(
      JSON.stringify({ ...(error as AppError), message: (error as AppError).message }),
    ).not.toContain('hunter2');
  });

  it('answers 503 within the timeout when no service serves the topic', async () => {
    const started = Date.now();
    // Nothing in this test consumes the auth topic.
    await expect(
      client.call('auth.apiKeys.verify', { keyHash: 'a'.repeat(64) }, { timeoutMs: 1_000 }),
    ).rejects.toMatchObject({ code: 5030 });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('continues the caller’s trace in the handler through Kafka headers', async () => {
    const tracer = trace.getTracer('it');
    const parent = tracer.startSpan('caller');
    await context.with(trace.setSpan(context.active(), parent), () =>
      client.call('pipelines.get', { principal, pipelineId: 'pl_traced' }),
    );
    parent.end();
    expect(traceIds.get('pl_traced')).toBe(parent.spanContext().traceId);
    // caller -> rpc client span -> rpc server span, one trace across Kafka.
    const inTrace = exporter
      .getFinishedSpans()
      .filter((s) => s.spanContext().traceId === parent.spanContext().traceId);
    const clientSpan = inTrace.find((s) => s.kind === SpanKind.CLIENT);
    const serverSpan = inTrace.find((s) => s.kind === SpanKind.SERVER);
    expect(clientSpan?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
  });

  it('carries the id of the request a call serves, so the handler and its own calls know it', async () => {
    await runWithRequestId('req-it-42', () =>
      client.call('pipelines.get', { principal, pipelineId: 'pl_req_ambient' }),
    );
    expect(requestIds.get('pl_req_ambient')).toBe('req-it-42');
    await runWithRequestId('req-it-42', () =>
      client.call(
        'pipelines.get',
        { principal, pipelineId: 'pl_req_explicit' },
        { requestId: 'req-it-explicit' },
      ),
    );
    expect(requestIds.get('pl_req_explicit')).toBe('req-it-explicit');
    await client.call('pipelines.get', { principal, pipelineId: 'pl_req_none' });
    expect(requestIds.get('pl_req_none')).toBeUndefined();
  });

  it('drops a request whose deadline passed before it started, and a redelivered one', async () => {
    const send = (pipelineId: string, correlationId: string, deadline: number) =>
      producer.send({
        topic: Topics.rpc.pipelineRegistry,
        messages: [
          {
            key: correlationId,
            value: JSON.stringify({ principal, pipelineId }),
            headers: {
              [KafkaHeaders.pattern]: 'pipelines.get',
              [KafkaHeaders.correlationId]: correlationId,
              [KafkaHeaders.replyTo]: Topics.rpcReplies,
              [KafkaHeaders.replyInstance]: 'nobody',
              [KafkaHeaders.deadline]: String(deadline),
            },
          },
        ],
      });
    await send('pl_expired', randomUUID(), Date.now() - 1_000);
    const duplicate = randomUUID();
    await send('pl_duplicate', duplicate, Date.now() + 60_000);
    await send('pl_duplicate', duplicate, Date.now() + 60_000);
    // A later call on the same topic has been served once the earlier messages were seen.
    await new Promise((r) => setTimeout(r, 1_500));
    await client.call('pipelines.get', { principal, pipelineId: 'pl_after' });
    expect(calls.get('pl_expired')).toBeUndefined();
    expect(calls.get('pl_duplicate')).toBe(1);
  });
});
