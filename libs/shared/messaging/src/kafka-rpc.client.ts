import { randomUUID } from 'node:crypto';
import type { Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import {
  AppError,
  KafkaHeaders,
  RpcContracts,
  Topics,
  type RpcPattern,
  type RpcRequest,
  type RpcResponse,
} from '@cloudflow/contracts';
import { currentRequestId, injectTraceContext, withSpan } from '@cloudflow/observability';
import { CONSUMER_SETTINGS, RPC_PRODUCER_SETTINGS, type KafkaLogSink } from './kafka-settings';
import { RpcClient, type CallOptions } from './rpc-client';
import { acceptReply, noAnswer } from './rpc-exchange';

interface Pending {
  pattern: RpcPattern;
  /** With the reply as it arrived (JSON text); acceptReply reads it. */
  resolve: (value: string | null) => void;
  reject: (error: AppError) => void;
  timer: NodeJS.Timeout;
}

export interface KafkaRpcClientOptions {
  kafka: Kafka;
  /** Unique per process: names the reply consumer group and marks our replies. */
  instanceId: string;
  defaultTimeoutMs: number;
  log: KafkaLogSink;
}

/**
 * Request/reply over Kafka. Requests go to the owning service's topic with a
 * correlation id, a deadline and the trace context in headers; every caller
 * instance reads the replies topic in its own group and keeps the replies
 * addressed to it. A call that outlives its deadline fails with 503 and the
 * server drops the request unprocessed if it has not started it yet.
 */
export class KafkaRpcClient extends RpcClient {
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private readonly pending = new Map<string, Pending>();
  private connected = false;

  constructor(private readonly options: KafkaRpcClientOptions) {
    super();
    this.producer = options.kafka.producer(RPC_PRODUCER_SETTINGS);
    this.consumer = options.kafka.consumer({
      ...CONSUMER_SETTINGS,
      groupId: `cloudflow.rpc-client.${options.instanceId}`,
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: Topics.rpcReplies, fromBeginning: false });
    // A fresh group starts at the log end; wait until it actually fetches so no
    // reply to our first request can slip in before the starting offset is fixed.
    const fetching = new Promise<void>((resolve) => {
      const off = this.consumer.on(this.consumer.events.FETCH_START, () => {
        off();
        resolve();
      });
    });
    await this.consumer.run({
      partitionsConsumedConcurrently: 6,
      eachMessage: async (payload) => this.onReply(payload),
    });
    await fetching;
    this.connected = true;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Called by Nest on shutdown: fails pending calls and leaves the reply group. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.connected = false;
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(AppError.unavailable('The gateway is shutting down'));
      this.pending.delete(id);
    }
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  override async call<P extends RpcPattern>(
    pattern: P,
    request: RpcRequest<P>,
    options: CallOptions = {},
  ): Promise<RpcResponse<P>> {
    const contract = RpcContracts[pattern];
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    const correlationId = randomUUID();
    const deadline = Date.now() + timeoutMs;

    return withSpan(
      `rpc ${pattern}`,
      'client',
      { 'messaging.destination.name': contract.topic },
      async () => {
        const headers: Record<string, string> = {
          [KafkaHeaders.pattern]: pattern,
          [KafkaHeaders.correlationId]: correlationId,
          [KafkaHeaders.replyTo]: Topics.rpcReplies,
          [KafkaHeaders.replyInstance]: this.options.instanceId,
          [KafkaHeaders.deadline]: String(deadline),
        };
        // The HTTP request this call serves, unless the caller names another.
        const requestId = options.requestId ?? currentRequestId();
        if (requestId) headers[KafkaHeaders.requestId] = requestId;
        injectTraceContext(headers);

        const response = new Promise<string | null>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.pending.delete(correlationId);
            reject(noAnswer(pattern, timeoutMs));
          }, timeoutMs);
          this.pending.set(correlationId, { pattern, resolve, reject, timer });
        });

        const published = this.producer
          .send({
            topic: contract.topic,
            messages: [{ key: correlationId, value: JSON.stringify(request), headers }],
          })
          .then(
            () => undefined,
            (error: unknown) => {
              const call = this.pending.get(correlationId);
              if (call) {
                clearTimeout(call.timer);
                this.pending.delete(correlationId);
              }
              this.options.log.error('rpc request could not be published', {
                pattern,
                error: String(error),
              });
              throw AppError.unavailable('The message broker is unavailable; try again shortly');
            },
          );

        // Whichever fails first wins; the other's rejection is still handled.
        const [, reply] = await Promise.all([published, response]);
        return acceptReply(pattern, reply, this.options.log);
      },
    );
  }

  private async onReply({ message }: EachMessagePayload): Promise<void> {
    const instance = message.headers?.[KafkaHeaders.replyInstance]?.toString();
    if (instance !== this.options.instanceId) return;
    const correlationId = message.headers?.[KafkaHeaders.correlationId]?.toString();
    const call = correlationId ? this.pending.get(correlationId) : undefined;
    if (!call || !correlationId) return; // timed out already
    clearTimeout(call.timer);
    this.pending.delete(correlationId);
    call.resolve(message.value?.toString() ?? null);
  }
}
