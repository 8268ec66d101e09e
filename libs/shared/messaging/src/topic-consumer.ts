import { Inject, Injectable } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { z } from 'zod';
import { extractTraceContext, withSpan, type MessageHeaders } from '@cloudflow/observability';
import { CONSUMER_SETTINGS, TASK_CONSUMER_SETTINGS } from './kafka-settings';
import { KAFKA, TOPICS_READY } from './messaging.tokens';
import {
  TopicSubscriber,
  type MessagePosition,
  type SubscribeOptions,
  type Subscription,
} from './transport';

/**
 * Hands one delivered message to a subscriber, whichever transport carried
 * it: parsed against its contract, handled in a span that continues the
 * producer's trace.
 */
export async function deliverMessage<S extends z.ZodType>(
  /** The transport, as traces name it: `kafka`, or `in-process` in standalone mode. */
  system: 'kafka' | 'in-process',
  options: SubscribeOptions<S>,
  value: Buffer | string | null,
  headers: MessageHeaders,
  position: MessagePosition,
  heartbeat: () => Promise<void>,
): Promise<void> {
  const parsed = options.schema.safeParse(jsonOf(value));
  if (!parsed.success) {
    options.onMalformed(position);
    return;
  }
  const message = parsed.data as z.infer<S>;
  await withSpan(
    `${options.topic} process`,
    'consumer',
    { 'messaging.system': system, ...options.attributes(message) },
    () => options.handle(message, heartbeat),
    extractTraceContext(headers),
  );
}

/**
 * The Kafka adapter: a consumer in the subscriber's group, one message at a
 * time; the offset is committed once the handler returns.
 */
@Injectable()
export class KafkaTopicSubscriber extends TopicSubscriber {
  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPICS_READY) private readonly topicsReady: Promise<void>,
  ) {
    super();
  }

  override async subscribe<S extends z.ZodType>(
    options: SubscribeOptions<S>,
  ): Promise<Subscription> {
    await this.topicsReady;
    const settings = options.kind === 'work' ? TASK_CONSUMER_SETTINGS : CONSUMER_SETTINGS;
    const consumer = this.kafka.consumer({ ...settings, groupId: options.groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachMessage: ({ message, partition, heartbeat }) =>
        deliverMessage(
          'kafka',
          options,
          message.value,
          message.headers ?? {},
          { partition, offset: message.offset },
          heartbeat,
        ),
    });
    return { stop: () => consumer.disconnect() };
  }
}

function jsonOf(value: Buffer | string | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString());
  } catch {
    return undefined;
  }
}
