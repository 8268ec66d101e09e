import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka, Producer } from 'kafkajs';
import { injectTraceContext } from '@cloudflow/observability';
import { EVENT_PRODUCER_SETTINGS } from './kafka-settings';
import { KAFKA, TOPICS_READY } from './messaging.tokens';
import { TopicPublisher, type OutgoingMessage } from './transport';

/**
 * The Kafka adapter of TopicPublisher: the current trace context in the
 * headers (or the message's own), through one idempotent producer,
 * acknowledged by all in-sync replicas.
 */
@Injectable()
export class KafkaTopicPublisher extends TopicPublisher implements OnApplicationShutdown {
  private producer?: Promise<Producer>;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPICS_READY) private readonly topicsReady: Promise<void>,
  ) {
    super();
  }

  override async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await this.connected();
    const headers: Record<string, string> = {};
    injectTraceContext(headers);
    await producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({
        key: m.key,
        value: JSON.stringify(m.value),
        headers: m.traceHeaders ?? headers,
        ...(m.partition !== undefined && { partition: m.partition }),
      })),
    });
  }

  override async partitionsOf(topic: string): Promise<number> {
    await this.topicsReady;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]?.partitions.length ?? 1;
    } finally {
      await admin.disconnect();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.producer) await (await this.producer).disconnect();
  }

  private connected(): Promise<Producer> {
    if (!this.producer) {
      const connecting = (async () => {
        await this.topicsReady;
        const producer = this.kafka.producer(EVENT_PRODUCER_SETTINGS);
        await producer.connect();
        return producer;
      })();
      // A failed connect is retried by the next publish, not cached for the process's life.
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
      });
      this.producer = connecting;
    }
    return this.producer;
  }
}
