import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { KafkaConnectionEnvSchema, loadConfig } from '@cloudflow/config';
import { testEnv, uniqueName } from '@cloudflow/testing';
import {
  CONSUMER_SETTINGS,
  EVENT_PRODUCER_SETTINGS,
  createKafka,
  kafkaConnectionOf,
  type KafkaLogSink,
} from './kafka-settings';

/** What the test broker's SASL listener offers (deploy/local/infra: PLAIN and SCRAM). */
const MECHANISMS = (process.env['KAFKA_SASL_TEST_MECHANISMS'] || 'plain')
  .split(',')
  .map((mechanism) => mechanism.trim())
  .filter(Boolean);

/** How long an authentication failure may take to surface: a refusal, not a hang. */
const REFUSED_WITHIN_MS = 10_000;

/** A sink that keeps every line the client logs, to look for the password in. */
function recordingSink(): KafkaLogSink & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, meta?: object) => lines.push(`${message} ${JSON.stringify(meta)}`);
  return { lines, error: keep, warn: keep, info: keep, debug: keep };
}

/**
 * The Kafka client a CloudFlow service builds from its environment: the
 * variables parsed by the service schema's Kafka part, combined by
 * kafkaConnectionOf, then createKafka.
 */
function serviceClient(mechanism: string, password: string, sink: KafkaLogSink): Kafka {
  const env = loadConfig(KafkaConnectionEnvSchema, {
    KAFKA_BROKERS: testEnv('KAFKA_SASL_TEST_BROKERS'),
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: testEnv('KAFKA_SASL_TEST_USERNAME'),
    KAFKA_SASL_PASSWORD: password,
  });
  return createKafka({ ...kafkaConnectionOf(env), service: 'sasl-it' }, sink);
}

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('Kafka with SASL authentication (the test broker’s SASL listener)', () => {
  it.each(MECHANISMS)(
    'with the right credentials, a %s client creates a topic, publishes to it and consumes from it',
    async (mechanism) => {
      const password = testEnv('KAFKA_SASL_TEST_PASSWORD');
      const sink = recordingSink();
      const kafka = serviceClient(mechanism, password, sink);
      const topic = uniqueName(`it.sasl.${mechanism}`);
      const value = randomUUID();
      const admin = kafka.admin();
      const producer = kafka.producer(EVENT_PRODUCER_SETTINGS);
      const consumer = kafka.consumer({
        ...CONSUMER_SETTINGS,
        groupId: uniqueName(`it.sasl.${mechanism}.group`),
      });
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
        await producer.connect();
        await producer.send({ topic, messages: [{ key: 'sasl', value }] });

        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        const received = new Promise<string | undefined>((resolve) => {
          void consumer.run({
            eachMessage: ({ message }) => {
              resolve(message.value?.toString());
              return Promise.resolve();
            },
          });
        });
        expect(await within(received, 30_000, 'consuming the message')).toBe(value);
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        await admin.disconnect();
      }
      expect(sink.lines.join('\n')).not.toContain(password);
    },
  );

  it.each(MECHANISMS)(
    'with a wrong password, a %s client is refused at once with an authentication error',
    async (mechanism) => {
      const password = testEnv('KAFKA_SASL_TEST_PASSWORD');
      const wrong = `wrong-${randomUUID()}`;
      const sink = recordingSink();
      const kafka = serviceClient(mechanism, wrong, sink);
      const admin = kafka.admin();
      const started = Date.now();
      const error = await within(
        admin.connect().then(
          () => new Error('connected with a wrong password'),
          (refusal: unknown) => refusal,
        ),
        REFUSED_WITHIN_MS + 5_000,
        'connecting with a wrong password',
      );
      await admin.disconnect();
      expect(Date.now() - started).toBeLessThan(REFUSED_WITHIN_MS);
      expect(error).toMatchObject({
        name: 'KafkaJSSASLAuthenticationError',
        message: expect.stringMatching(/authentication failed/i),
      });
      // Neither the error nor the logs carry a password, the wrong one or the right one.
      const text = `${(error as Error).message}\n${sink.lines.join('\n')}`;
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(password);
    },
  );
});
