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
import { z } from 'zod';
import {
  AppError,
  KafkaHeaders,
  Topics,
  type Principal,
  type RpcRequest,
} from '@cloudflow/contracts';
import { currentRequestId, runWithRequestId } from '@cloudflow/observability';
import { eventually, uniqueName } from '@cloudflow/testing';
import {
  InProcessBus,
  InProcessRpcClient,
  InProcessRpcServer,
  InProcessTopicPublisher,
  InProcessTopicSubscriber,
} from './in-process';
import { KafkaRpcClient } from './kafka-rpc.client';
import { KafkaRpcServer } from './kafka-rpc.server';
import { createKafka, ensureTopics, type KafkaLogSink } from './kafka-settings';
import type { RpcClient } from './rpc-client';
import { KafkaTopicSubscriber } from './topic-consumer';
import { KafkaTopicPublisher } from './topic-publisher';
import type { Subscription, TopicPublisher, TopicSubscriber } from './transport';

/**
 * The transport contract: what every service relies on from its messaging
 * ports, run against both adapters — Kafka (a real broker) and the
 * in-process bus of standalone mode.
 */

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

interface Adapter {
  client: RpcClient;
  publisher: TopicPublisher;
  subscriber: TopicSubscriber;
  /** Makes a topic of its own for a test (Kafka needs it created). */
  createTopic(name: string): Promise<void>;
  /** Kafka only: a raw producer, for what only Kafka can deliver (redeliveries, expired requests). */
  producer?: Producer;
  stop(): Promise<void>;
}

const adapters: [string, () => Promise<Adapter>][] = [
  ['Kafka (a real broker)', startKafka],
  ['the in-process bus', startInProcess],
];

beforeAll(() => {
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

async function startKafka(): Promise<Adapter> {
  const service = uniqueName('it-rpc');
  const kafka: Kafka = createKafka(
    { brokers: process.env['KAFKA_BROKERS']!.split(','), service },
    quiet,
  );
  await ensureTopics(kafka, { brokers: [], service });
  const server = await NestFactory.createMicroservice(FakeRegistryModule, {
    strategy: new KafkaRpcServer({ kafka, service, log: quiet }),
    logger: false,
  });
  server.useGlobalFilters(new PassThrough());
  await server.listen();
  const client = new KafkaRpcClient({
    kafka,
    instanceId: `${service}-client`,
    defaultTimeoutMs: 15_000,
    log: quiet,
  });
  await client.connect();
  const producer = kafka.producer();
  await producer.connect();
  const ready = Promise.resolve();
  const publisher = new KafkaTopicPublisher(kafka, ready);
  return {
    client,
    publisher,
    subscriber: new KafkaTopicSubscriber(kafka, ready),
    producer,
    createTopic: async (topic) => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await admin.disconnect();
    },
    stop: async () => {
      await publisher.onApplicationShutdown();
      await producer.disconnect();
      await client.close();
      await server.close();
    },
  };
}

async function startInProcess(): Promise<Adapter> {
  const bus = new InProcessBus({ log: quiet });
  const server: INestMicroservice = await NestFactory.createMicroservice(FakeRegistryModule, {
    strategy: new InProcessRpcServer({ bus, log: quiet }),
    logger: false,
  });
  server.useGlobalFilters(new PassThrough());
  await server.listen();
  return {
    client: new InProcessRpcClient({ bus, defaultTimeoutMs: 15_000, log: quiet }),
    publisher: new InProcessTopicPublisher(bus),
    subscriber: new InProcessTopicSubscriber(bus),
    createTopic: () => Promise.resolve(),
    stop: () => server.close(),
  };
}

const Fact = z.object({ n: z.number().int(), key: z.string() });
type Fact = z.infer<typeof Fact>;

describe.each(adapters)('the transport contract over %s', (name, start) => {
  let adapter: Adapter;
  let client: RpcClient;

  beforeAll(async () => {
    adapter = await start();
    client = adapter.client;
  });

  afterAll(async () => {
    await adapter.stop();
  });

  /** Subscribes `handle` as a member of `groupId`, collecting what it is given. */
  async function member(
    topic: string,
    groupId: string,
    handle: (fact: Fact) => Promise<void> | void = () => undefined,
    seen: Fact[] = [],
    malformed: number[] = [],
    fromBeginning = true,
  ): Promise<{ seen: Fact[]; malformed: number[]; subscription: Subscription }> {
    const subscription = await adapter.subscriber.subscribe({
      groupId,
      topic,
      kind: 'events',
      fromBeginning,
      schema: Fact,
      attributes: (fact) => ({ n: fact.n }),
      handle: async (fact) => {
        await handle(fact);
        seen.push(fact);
      },
      onMalformed: (where) => malformed.push(where.partition),
    });
    return { seen, malformed, subscription };
  }

  const facts = (count: number, keys = 4): { key: string; value: Fact }[] =>
    Array.from({ length: count }, (_, n) => ({
      key: `k${n % keys}`,
      value: { n, key: `k${n % keys}` },
    }));

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

  it('answers 503 within the timeout when no service serves the pattern', async () => {
    const started = Date.now();
    // Nothing in this test consumes the auth topic.
    await expect(
      client.call('auth.apiKeys.verify', { keyHash: 'a'.repeat(64) }, { timeoutMs: 1_000 }),
    ).rejects.toMatchObject({ code: 5030 });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('continues the caller’s trace in the handler through message headers', async () => {
    const tracer = trace.getTracer('it');
    const parent = tracer.startSpan('caller');
    await context.with(trace.setSpan(context.active(), parent), () =>
      client.call('pipelines.get', { principal, pipelineId: 'pl_traced' }),
    );
    parent.end();
    expect(traceIds.get('pl_traced')).toBe(parent.spanContext().traceId);
    // caller -> rpc client span -> rpc server span, one trace across the transport.
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

  // Kafka only: in one process a request is never redelivered, nor queued past its deadline.
  const kafkaOnly = name.startsWith('Kafka') ? it : () => undefined;

  kafkaOnly(
    'drops a request whose deadline passed before it started, and a redelivered one',
    async () => {
      const producer = adapter.producer!;
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
    },
  );

  it('delivers each published message once to a group, spread over its members, in order per key', async () => {
    const topic = uniqueName('it.contract.spread');
    await adapter.createTopic(topic);
    const group = uniqueName('it-group');
    const seen: Fact[] = [];
    const a = await member(topic, group, undefined, seen);
    const b = await member(topic, group, undefined, seen);
    await adapter.publisher.publish(topic, facts(40));
    await eventually(async () => seen.length >= 40, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((f) => f.n).sort((x, y) => x - y)).toEqual([...Array(40).keys()]);
    for (const key of ['k0', 'k1', 'k2', 'k3']) {
      const ns = seen.filter((f) => f.key === key).map((f) => f.n);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
    await a.subscription.stop();
    await b.subscription.stop();
  });

  it('gives every group its own copy, and a group reading from the beginning what came before it', async () => {
    const topic = uniqueName('it.contract.groups');
    await adapter.createTopic(topic);
    await adapter.publisher.publish(topic, facts(5));
    const first = await member(topic, uniqueName('it-first'));
    await eventually(async () => first.seen.length === 5, 30_000);
    const second = await member(topic, uniqueName('it-second'));
    await adapter.publisher.publish(topic, facts(3));
    // The second group reads from the beginning: what came before it too, in order per key.
    await eventually(async () => first.seen.length === 8 && second.seen.length === 8, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(second.seen.map((f) => f.n).sort((x, y) => x - y)).toEqual([0, 0, 1, 1, 2, 2, 3, 4]);
    await first.subscription.stop();
    await second.subscription.stop();
  });

  it('continues in a message’s consumer span the trace the message names, else the publisher’s', async () => {
    const topic = uniqueName('it.contract.traced');
    await adapter.createTopic(topic);
    const tracer = trace.getTracer('it');
    const publishing = tracer.startSpan('publishing');
    const own = tracer.startSpan('the message’s own producer span');
    const traceHeaders: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), own), traceHeaders);
    await context.with(trace.setSpan(context.active(), publishing), () =>
      adapter.publisher.publish(topic, [
        { key: 'k0', value: { n: 0, key: 'k0' } },
        { key: 'k0', value: { n: 1, key: 'k0' }, traceHeaders },
      ]),
    );
    publishing.end();
    own.end();
    const traced = await member(topic, uniqueName('it-traced'));
    await eventually(async () => traced.seen.length === 2, 30_000);
    await traced.subscription.stop();
    const parentOf = (n: number) =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === `${topic} process` && s.attributes['n'] === n)?.parentSpanContext
        ?.spanId;
    expect(parentOf(0)).toBe(publishing.spanContext().spanId);
    expect(parentOf(1)).toBe(own.spanContext().spanId);
  });

  it('reports a message that breaks its contract and goes on with the next', async () => {
    const topic = uniqueName('it.contract.malformed');
    await adapter.createTopic(topic);
    const { seen, malformed, subscription } = await member(topic, uniqueName('it-group'));
    await adapter.publisher.publish(topic, [
      { key: 'k', value: { n: 'not a number' } },
      { key: 'k', value: { n: 1, key: 'k' } },
    ]);
    await eventually(async () => seen.length === 1, 30_000);
    expect(malformed).toHaveLength(1);
    expect(seen).toEqual([{ n: 1, key: 'k' }]);
    await subscription.stop();
  });

  it('delivers a message again when its handler fails, before the next one of its partition', async () => {
    const topic = uniqueName('it.contract.retry');
    await adapter.createTopic(topic);
    let failures = 0;
    const { seen, subscription } = await member(topic, uniqueName('it-group'), (fact) => {
      if (fact.n === 0 && failures++ === 0) throw new Error('the store is briefly down');
    });
    await adapter.publisher.publish(topic, [
      { key: 'same', value: { n: 0, key: 'same' } },
      { key: 'same', value: { n: 1, key: 'same' } },
    ]);
    await eventually(async () => seen.length === 2, 60_000);
    expect(failures).toBe(2);
    expect(seen.map((f) => f.n)).toEqual([0, 1]);
    await subscription.stop();
  });

  it('stop() waits for the message in hand, and the group’s other member takes what follows', async () => {
    const topic = uniqueName('it.contract.stop');
    await adapter.createTopic(topic);
    const group = uniqueName('it-group');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const a = await member(topic, group, (fact) => (fact.n === 0 ? held : undefined));
    await adapter.publisher.publish(topic, [{ key: 'k', value: { n: 0, key: 'k' } }]);
    await new Promise((r) => setTimeout(r, 1_000));
    let stopped = false;
    const stopping = a.subscription.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(a.seen.map((f) => f.n)).toEqual([0]);
    const b = await member(topic, group);
    await adapter.publisher.publish(topic, [{ key: 'k', value: { n: 1, key: 'k' } }]);
    await eventually(async () => b.seen.some((f) => f.n === 1), 30_000);
    expect(b.seen.some((f) => f.n === 0)).toBe(false);
    await b.subscription.stop();
  });

  it('gives a member one message at a time, even when its handler publishes before it waits', async () => {
    const topic = uniqueName('it.contract.one-at-a-time');
    await adapter.createTopic(topic);
    let active = 0;
    let most = 0;
    const { seen, subscription } = await member(topic, uniqueName('it-group'), async (fact) => {
      active++;
      most = Math.max(most, active);
      if (fact.n < 5)
        void adapter.publisher.publish(topic, [
          { key: `k${fact.n + 1}`, value: { n: fact.n + 1, key: `k${fact.n + 1}` } },
        ]);
      await new Promise((r) => setTimeout(r, 30));
      active--;
    });
    await adapter.publisher.publish(topic, [{ key: 'k0', value: { n: 0, key: 'k0' } }]);
    await eventually(async () => seen.length === 6, 30_000);
    expect(most).toBe(1);
    await subscription.stop();
  });
});
