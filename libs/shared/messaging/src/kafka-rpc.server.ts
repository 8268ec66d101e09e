import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import { KafkaHeaders, RpcContracts } from '@cloudflow/contracts';
import {
  CONSUMER_SETTINGS,
  RPC_PRODUCER_SETTINGS,
  serviceGroupId,
  type KafkaLogSink,
} from './kafka-settings';
import { RecentIds } from './recent-ids';
import { serveRequest, servedPatterns } from './rpc-exchange';

export interface KafkaRpcServerOptions {
  kafka: Kafka;
  service: string;
  log: KafkaLogSink;
  /** Requests handled at once by this process; more wait in Kafka. */
  maxInFlight?: number;
}

/**
 * The NestJS transport strategy that serves `@MessagePattern` handlers from
 * Kafka. Each service's replicas form one consumer group on the topics of
 * the patterns they handle. Requests carry a deadline; one that has expired
 * before it starts is dropped, so a caller that was told "unavailable" never
 * has its command carried out later.
 */
export class KafkaRpcServer extends Server implements CustomTransportStrategy {
  private consumer?: Consumer;
  private producer?: Producer;
  private readonly seen = new RecentIds(20_000);
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;

  constructor(private readonly options: KafkaRpcServerOptions) {
    super();
    this.maxInFlight = options.maxInFlight ?? 32;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  private async start(): Promise<void> {
    const { kafka, service } = this.options;
    const topics = this.topicsToServe();
    this.producer = kafka.producer(RPC_PRODUCER_SETTINGS);
    await this.producer.connect();
    if (topics.length === 0) return;

    this.consumer = kafka.consumer({ ...CONSUMER_SETTINGS, groupId: serviceGroupId(service) });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (!event.payload.restart) {
        this.options.log.error('kafka consumer crashed and will not restart; exiting', {
          error: String(event.payload.error),
        });
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
      }
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: false });
    await this.consumer.run({
      partitionsConsumedConcurrently: 6,
      eachMessage: (payload) => this.onMessage(payload),
    });
  }

  private topicsToServe(): string[] {
    return [...new Set(servedPatterns(this.getHandlers()).map((p) => RpcContracts[p].topic))];
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
    await Promise.allSettled(this.inFlight);
    await this.producer?.disconnect();
  }

  on(): never {
    throw new Error('KafkaRpcServer does not emit events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async onMessage({ topic, message }: EachMessagePayload): Promise<void> {
    const header = (name: string) => message.headers?.[name]?.toString();
    const pattern = header(KafkaHeaders.pattern);
    if (!pattern) {
      this.options.log.warn('message without a pattern header ignored', { topic });
      return;
    }
    const handler = this.getHandlerByPattern(pattern);
    // Requests run concurrently, up to maxInFlight; beyond that, fetching waits.
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    const work = this.handleRequest(pattern, handler, message.value, message.headers ?? {}).catch(
      (error: unknown) =>
        this.options.log.error('rpc request failed outside its handler', {
          pattern,
          error: String(error),
        }),
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async handleRequest(
    pattern: string,
    handler: MessageHandler | null,
    value: Buffer | null,
    headers: NonNullable<EachMessagePayload['message']['headers']>,
  ): Promise<void> {
    const header = (name: string) => headers[name]?.toString();
    const correlationId = header(KafkaHeaders.correlationId);
    const replyTo = header(KafkaHeaders.replyTo);
    const replyInstance = header(KafkaHeaders.replyInstance);
    const requestId = header(KafkaHeaders.requestId);
    if (!correlationId || !replyTo || !replyInstance) {
      this.options.log.warn('rpc request without reply headers ignored', { pattern });
      return;
    }
    if (!this.seen.add(correlationId)) return; // redelivered
    const deadline = Number(header(KafkaHeaders.deadline));
    if (Number.isFinite(deadline) && Date.now() > deadline) {
      this.options.log.warn('rpc request expired before it started; dropped', {
        pattern,
        requestId,
      });
      return;
    }

    const reply = await serveRequest({
      pattern,
      handler,
      value: value?.toString() ?? null,
      requestId,
      correlationId,
      headers,
      log: this.options.log,
      toObservable: (result) => this.transformToObservable(result),
    });
    if (!this.producer) return;
    await this.producer.send({
      topic: replyTo,
      messages: [
        {
          key: correlationId,
          value: JSON.stringify(reply),
          headers: {
            [KafkaHeaders.correlationId]: correlationId,
            [KafkaHeaders.replyInstance]: replyInstance,
          },
        },
      ],
    });
  }
}
