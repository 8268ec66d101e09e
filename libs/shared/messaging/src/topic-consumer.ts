import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import type { z } from 'zod';
import { extractTraceContext, withSpan } from '@cloudflow/observability';

export interface TopicConsumerOptions<S extends z.ZodType> {
  kafka: Kafka;
  settings: Omit<ConsumerConfig, 'groupId'>;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  /** Every message is JSON checked against this schema; others are reported and skipped. */
  schema: S;
  /** Span attributes of a message, for its trace. */
  attributes: (message: z.infer<S>) => Record<string, string | number>;
  handle: (message: z.infer<S>, heartbeat: () => Promise<void>) => Promise<void>;
  onMalformed: (where: { partition: number; offset: string }) => void;
}

/**
 * Consumes a topic of CloudFlow facts or commands (task assignments, job
 * events): one message at a time, parsed against its contract, handled in a
 * span that continues the producer's trace. The offset is committed once the
 * handler returns.
 */
export async function consumeTopic<S extends z.ZodType>(
  options: TopicConsumerOptions<S>,
): Promise<Consumer> {
  const consumer = options.kafka.consumer({ ...options.settings, groupId: options.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
  await consumer.run({
    partitionsConsumedConcurrently: 1,
    eachMessage: async ({ message, partition, heartbeat }) => {
      const parsed = options.schema.safeParse(jsonOf(message.value));
      if (!parsed.success) {
        options.onMalformed({ partition, offset: message.offset });
        return;
      }
      const value = parsed.data as z.infer<S>;
      await withSpan(
        `${options.topic} process`,
        'consumer',
        { 'messaging.system': 'kafka', ...options.attributes(value) },
        () => options.handle(value, heartbeat),
        extractTraceContext(message.headers ?? {}),
      );
    },
  });
  return consumer;
}

function jsonOf(value: Buffer | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString());
  } catch {
    return undefined;
  }
}
