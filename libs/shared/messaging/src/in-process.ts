import { randomUUID } from 'node:crypto';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { z } from 'zod';
import {
  KafkaHeaders,
  RpcContracts,
  Topics,
  type RpcPattern,
  type RpcRequest,
  type RpcResponse,
} from '@cloudflow/contracts';
import {
  captureContext,
  currentRequestId,
  injectTraceContext,
  withSpan,
} from '@cloudflow/observability';
import { DEFAULT_TASK_PARTITIONS, type KafkaLogSink } from './kafka-settings';
import { RpcClient, type CallOptions } from './rpc-client';
import { acceptReply, noAnswer, serveRequest, servedPatterns } from './rpc-exchange';
import { deliverMessage } from './topic-consumer';
import {
  TopicPublisher,
  TopicSubscriber,
  TransportReadiness,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
} from './transport';

/**
 * The in-process transport of standalone mode: every service of the process
 * publishes, subscribes and calls through one bus instead of Kafka, with the
 * same semantics the services rely on — messages travel as JSON text and are
 * checked against their contracts on arrival; a group's members share a
 * topic's partitions, one message at a time each, in order per partition;
 * a new group with `fromBeginning` receives what was published before it
 * subscribed; an RPC nobody answers in time fails with 503.
 *
 * What it does not keep is messages across a restart: standalone mode's
 * durable state is the store, and the scheduler re-sends any task attempt
 * that was dispatched but never claimed, so a lost message delays work and
 * loses none.
 */

interface Envelope {
  key: string;
  /** JSON text, as over Kafka: nothing shared by reference crosses the bus. */
  value: string;
  headers: Record<string, string>;
  partition: number;
  offset: number;
}

/** A message as one group holds it: each group counts its own failed deliveries. */
interface Delivery {
  message: Envelope;
  failures: number;
}

interface Member {
  handle: (message: Envelope) => Promise<void>;
  busy: Promise<void> | null;
  stopped: boolean;
}

interface Group {
  queues: Delivery[][];
  /** Partitions a member is working on: their next message waits. */
  busy: Set<number>;
  members: Member[];
  /** Where the next search for work starts, so no partition waits behind another. */
  cursor: number;
}

interface TopicState {
  partitions: number;
  nextOffset: number;
  /** The latest messages, for a group that joins later and reads from the beginning. */
  retained: Envelope[];
  groups: Map<string, Group>;
}

type RpcServe = (value: string, headers: Record<string, string>) => Promise<string>;

/**
 * Redelivery of a message whose handler failed: after a pause, a few times,
 * then given up with an error in the log (Kafka would retry for as long as
 * the consumer lives; every CloudFlow handler catches its own failures, and
 * the scheduler's sweep recovers what a lost task or event leaves behind).
 */
const RETRY_DELAY_MS = 1_000;
const MAX_DELIVERIES = 5;
/** Kafka keeps a week of messages; in one process, the latest this many per topic. */
const RETAINED_PER_TOPIC = 10_000;

export interface InProcessBusOptions {
  /** Partitions of the task topic: the most workers busy at once. */
  taskPartitions?: number;
  log: KafkaLogSink;
}

export class InProcessBus {
  private readonly topics = new Map<string, TopicState>();
  private readonly rpc = new Map<RpcPattern, RpcServe>();

  constructor(private readonly options: InProcessBusOptions) {}

  partitionsOf(topic: string): number {
    return this.topic(topic).partitions;
  }

  publish(topic: string, messages: OutgoingMessage[], headers: Record<string, string>): void {
    const state = this.topic(topic);
    for (const m of messages) {
      const envelope: Envelope = {
        key: m.key,
        value: JSON.stringify(m.value),
        headers: m.traceHeaders ?? headers,
        partition: (m.partition ?? hashOf(m.key)) % state.partitions,
        offset: state.nextOffset++,
      };
      state.retained.push(envelope);
      if (state.retained.length > RETAINED_PER_TOPIC) state.retained.shift();
      for (const group of state.groups.values()) {
        queueOf(group, envelope.partition).push({ message: envelope, failures: 0 });
      }
    }
    for (const group of state.groups.values()) this.pump(group);
  }

  /** Joins `groupId` on `topic`; the returned function leaves once the message in hand is handled. */
  subscribe(
    topic: string,
    groupId: string,
    fromBeginning: boolean,
    handle: (message: Envelope) => Promise<void>,
  ): () => Promise<void> {
    const state = this.topic(topic);
    let group = state.groups.get(groupId);
    if (!group) {
      group = {
        queues: Array.from({ length: state.partitions }, () => []),
        busy: new Set(),
        members: [],
        cursor: 0,
      };
      if (fromBeginning) {
        for (const m of state.retained)
          queueOf(group, m.partition).push({ message: m, failures: 0 });
      }
      state.groups.set(groupId, group);
    }
    const member: Member = { handle, busy: null, stopped: false };
    group.members.push(member);
    this.pump(group);
    const joined = group;
    return async () => {
      member.stopped = true;
      joined.members = joined.members.filter((m) => m !== member);
      await member.busy;
    };
  }

  /**
   * Messages of `topic` that `groupId` has waiting or in hand, over all
   * partitions (its lag, as Kafka would count it); undefined when no such
   * group ever joined the topic.
   */
  pendingOf(topic: string, groupId: string): number | undefined {
    const group = this.topics.get(topic)?.groups.get(groupId);
    if (!group) return undefined;
    return group.queues.reduce((sum, queue) => sum + queue.length, 0) + group.busy.size;
  }

  /** Registers the handler of an RPC pattern (one service per pattern in a process). */
  serve(pattern: RpcPattern, serve: RpcServe): void {
    this.rpc.set(pattern, serve);
  }

  unserve(pattern: RpcPattern): void {
    this.rpc.delete(pattern);
  }

  /** The reply (JSON text) of the service serving `pattern`, or undefined when none does. */
  request(
    pattern: RpcPattern,
    value: string,
    headers: Record<string, string>,
  ): Promise<string> | undefined {
    return this.rpc.get(pattern)?.(value, headers);
  }

  private topic(name: string): TopicState {
    let state = this.topics.get(name);
    if (!state) {
      const partitions =
        name === Topics.tasks ? (this.options.taskPartitions ?? DEFAULT_TASK_PARTITIONS) : 6;
      state = { partitions, nextOffset: 0, retained: [], groups: new Map() };
      this.topics.set(name, state);
    }
    return state;
  }

  /** Gives each idle member the next message of a partition no one is working on. */
  private pump(group: Group): void {
    for (const member of group.members) {
      if (member.busy || member.stopped) continue;
      const partition = nextPartition(group);
      const delivery = partition === undefined ? undefined : queueOf(group, partition).shift();
      if (partition === undefined || !delivery) return;
      group.busy.add(partition);
      // Busy before the handler runs: one that publishes at once must not be handed more.
      member.busy = Promise.resolve()
        .then(() => this.run(group, member, delivery))
        .finally(() => {
          group.busy.delete(partition);
          member.busy = null;
          this.pump(group);
        });
    }
  }

  private async run(group: Group, member: Member, delivery: Delivery): Promise<void> {
    const { message } = delivery;
    try {
      await member.handle(message);
    } catch (error) {
      delivery.failures++;
      if (delivery.failures >= MAX_DELIVERIES) {
        this.options.log.error('message handler kept failing; message dropped', {
          partition: message.partition,
          offset: message.offset,
          error: String(error),
        });
        return;
      }
      this.options.log.warn('message handler failed; redelivering', {
        partition: message.partition,
        offset: message.offset,
        error: String(error),
      });
      // Back at the head of its partition, which stays blocked meanwhile: order is kept.
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      queueOf(group, message.partition).unshift(delivery);
    }
  }
}

/** The next partition with work that no member holds, round-robin from the group's cursor. */
function nextPartition(group: Group): number | undefined {
  const count = group.queues.length;
  for (let i = 0; i < count; i++) {
    const partition = (group.cursor + i) % count;
    if (queueOf(group, partition).length > 0 && !group.busy.has(partition)) {
      group.cursor = (partition + 1) % count;
      return partition;
    }
  }
  return undefined;
}

function queueOf(group: Group, partition: number): Delivery[] {
  const queue = group.queues[partition];
  if (!queue) throw new Error(`no partition ${partition} in this topic`);
  return queue;
}

function hashOf(key: string): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (Math.imul(hash, 31) + key.charCodeAt(i)) >>> 0;
  return hash;
}

export class InProcessTopicPublisher extends TopicPublisher {
  constructor(private readonly bus: InProcessBus) {
    super();
  }

  override publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    const headers: Record<string, string> = {};
    injectTraceContext(headers);
    this.bus.publish(topic, messages, headers);
    return Promise.resolve();
  }

  override partitionsOf(topic: string): Promise<number> {
    return Promise.resolve(this.bus.partitionsOf(topic));
  }
}

export class InProcessTopicSubscriber extends TopicSubscriber {
  constructor(private readonly bus: InProcessBus) {
    super();
  }

  override subscribe<S extends z.ZodType>(options: SubscribeOptions<S>): Promise<Subscription> {
    // Messages are handled in the subscriber's context, not the publisher's.
    const inSubscriber = captureContext();
    const leave = this.bus.subscribe(options.topic, options.groupId, options.fromBeginning, (m) =>
      inSubscriber(() =>
        deliverMessage(
          'in-process',
          options,
          m.value,
          m.headers,
          { partition: m.partition, offset: String(m.offset) },
          () => Promise.resolve(),
        ),
      ),
    );
    return Promise.resolve({ stop: leave });
  }
}

export class InProcessReadiness extends TransportReadiness {
  readonly name = 'transport';

  /** Nothing to reach: the bus lives as long as the process. */
  override check(): Promise<void> {
    return Promise.resolve();
  }
}

export interface InProcessRpcClientOptions {
  bus: InProcessBus;
  defaultTimeoutMs: number;
  log: KafkaLogSink;
}

/** Calls through the bus; requests and replies cross it as JSON text, checked like over Kafka. */
export class InProcessRpcClient extends RpcClient {
  constructor(private readonly options: InProcessRpcClientOptions) {
    super();
  }

  override call<P extends RpcPattern>(
    pattern: P,
    request: RpcRequest<P>,
    options: CallOptions = {},
  ): Promise<RpcResponse<P>> {
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    return withSpan(
      `rpc ${pattern}`,
      'client',
      { 'messaging.destination.name': RpcContracts[pattern].topic },
      async () => {
        const headers: Record<string, string> = {};
        const requestId = options.requestId ?? currentRequestId();
        if (requestId) headers[KafkaHeaders.requestId] = requestId;
        injectTraceContext(headers);
        const answer = this.options.bus.request(pattern, JSON.stringify(request), headers);
        if (!answer) throw noAnswer(pattern, timeoutMs);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(noAnswer(pattern, timeoutMs)), timeoutMs);
        });
        try {
          return acceptReply(pattern, await Promise.race([answer, late]), this.options.log);
        } finally {
          clearTimeout(timer);
        }
      },
    );
  }
}

export interface InProcessRpcServerOptions {
  bus: InProcessBus;
  log: KafkaLogSink;
}

/** The NestJS transport strategy serving a service's `@MessagePattern` handlers on the bus. */
export class InProcessRpcServer extends Server implements CustomTransportStrategy {
  private patterns: RpcPattern[] = [];
  private readonly inFlight = new Set<Promise<string>>();

  constructor(private readonly options: InProcessRpcServerOptions) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    try {
      this.patterns = servedPatterns(this.getHandlers());
      // Requests are handled in the serving service's context, not the caller's request.
      const inServer = captureContext();
      for (const pattern of this.patterns) {
        this.options.bus.serve(pattern, (value, headers) =>
          inServer(() => this.track(pattern, value, headers)),
        );
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    for (const pattern of this.patterns) this.options.bus.unserve(pattern);
    await Promise.allSettled(this.inFlight);
  }

  on(): never {
    throw new Error('InProcessRpcServer does not emit events');
  }

  unwrap<T>(): T {
    return this.options.bus as T;
  }

  private track(pattern: RpcPattern, value: string, headers: Record<string, string>) {
    const work = this.answer(pattern, value, headers);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  private async answer(
    pattern: RpcPattern,
    value: string,
    headers: Record<string, string>,
  ): Promise<string> {
    const reply = await serveRequest({
      pattern,
      handler: this.getHandlerByPattern(pattern),
      value,
      requestId: headers[KafkaHeaders.requestId],
      correlationId: randomUUID(),
      headers,
      log: this.options.log,
      toObservable: (result) => this.transformToObservable(result),
    });
    return JSON.stringify(reply);
  }
}
