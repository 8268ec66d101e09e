import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { growPartitions } from './kafka-settings';

/**
 * Raising the worker maximum raises KAFKA_TASK_PARTITIONS: a task topic
 * created with fewer partitions grows at the next boot (real Kafka).
 */
describe('growPartitions (Kafka)', () => {
  let admin: Admin;
  const topic = `cloudflow.test.partitions.${randomUUID()}`;

  beforeAll(async () => {
    admin = new Kafka({
      brokers: process.env['KAFKA_BROKERS']!.split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  const partitions = async () =>
    (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;

  it('adds partitions up to the configured count', async () => {
    expect(await growPartitions(admin, topic, 6)).toBe(6);
    expect(await partitions()).toBe(6);
  });

  it('never removes partitions when the configured count is lower', async () => {
    expect(await growPartitions(admin, topic, 3)).toBe(6);
    expect(await partitions()).toBe(6);
  });

  it('lets several processes race to raise it: all see the new count', async () => {
    const counts = await Promise.all([
      growPartitions(admin, topic, 9),
      growPartitions(admin, topic, 9),
      growPartitions(admin, topic, 9),
    ]);
    expect(counts).toEqual([9, 9, 9]);
    expect(await partitions()).toBe(9);
  });
});
