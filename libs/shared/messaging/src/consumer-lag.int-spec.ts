import type { Admin, Kafka } from 'kafkajs';
import { uniqueName } from '@cloudflow/testing';
import { KafkaConsumerLag } from './consumer-lag';
import { createKafka, type KafkaLogSink } from './kafka-settings';

const quiet: KafkaLogSink = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** Consumer-group lag read from a real Kafka broker with the admin client. */
describe('KafkaConsumerLag on a real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  let lag: KafkaConsumerLag;
  const topic = uniqueName('it.lag');

  beforeAll(async () => {
    kafka = createKafka(
      { brokers: process.env['KAFKA_BROKERS']!.split(','), service: 'lag-it' },
      quiet,
    );
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'a', value: '1', partition: 0 },
        { key: 'b', value: '2', partition: 0 },
        { key: 'c', value: '3', partition: 0 },
        { key: 'd', value: '4', partition: 1 },
      ],
    });
    await producer.disconnect();
    lag = new KafkaConsumerLag(kafka);
  });

  afterAll(async () => {
    await lag?.onApplicationShutdown();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('sums end minus committed offsets over partitions, per group', async () => {
    const behind = { groupId: uniqueName('it.lag.behind'), topic, fromBeginning: true };
    const fresh = { groupId: uniqueName('it.lag.fresh'), topic, fromBeginning: false };
    // The first group committed two messages of partition 0 and all of partition 1.
    await admin.setOffsets({
      groupId: behind.groupId,
      topic,
      partitions: [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '1' },
      ],
    });

    expect(await lag.of([behind, fresh])).toEqual([
      { ...behind, lag: 1 },
      // Never committed and starting at the newest message: nothing waits for it.
      { ...fresh, lag: 0 },
    ]);
    // A group that never committed but reads from the beginning has the whole log ahead.
    expect(await lag.of([{ ...fresh, fromBeginning: true }])).toEqual([
      { ...fresh, fromBeginning: true, lag: 4 },
    ]);
  });
});
