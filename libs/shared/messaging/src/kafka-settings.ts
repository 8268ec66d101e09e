import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  type Admin,
  logLevel as KafkaLogLevel,
  type ConsumerConfig,
  type ITopicConfig,
  type KafkaConfig,
  type LogEntry,
  type ProducerConfig,
} from 'kafkajs';
import { Topics } from '@cloudflow/contracts';

/**
 * Every Kafka setting CloudFlow uses lives in this file: client, producer,
 * consumer and topic layout. Tune here, nowhere else.
 */
export interface KafkaSettings {
  brokers: string[];
  /** Logical name of the process, e.g. `gateway`; used in client and group ids. */
  service: string;
  /** Partitions of each RPC request topic; bounds how many replicas share a service's load. */
  rpcPartitions?: number;
  /**
   * Partitions of the task topic: the most worker replicas that can be busy at
   * once. Raise it before raising the worker autoscaler's maximum.
   */
  taskPartitions?: number;
  /** -1 uses the broker default. */
  replicationFactor?: number;
}

export const DEFAULT_TASK_PARTITIONS = 12;

export interface KafkaLogSink {
  error(message: string, meta?: object): void;
  warn(message: string, meta?: object): void;
  info(message: string, meta?: object): void;
  debug(message: string, meta?: object): void;
}

const CLIENT_SETTINGS: Omit<KafkaConfig, 'brokers' | 'clientId'> = {
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
};

/**
 * Group membership: a consumer that dies without leaving is dropped after
 * `sessionTimeout`, which bounds how long its partitions sit idle.
 */
export const CONSUMER_SETTINGS: Omit<ConsumerConfig, 'groupId'> = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 20_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 250,
  allowAutoTopicCreation: false,
  retry: { retries: 10 },
};

/**
 * Workers hold a task message while they run it (one at a time) and call
 * heartbeat() meanwhile; a worker that stops doing so loses its partitions
 * after `sessionTimeout`, and its lease expires in the task ledger.
 */
export const TASK_CONSUMER_SETTINGS: Omit<ConsumerConfig, 'groupId'> = {
  ...CONSUMER_SETTINGS,
  rebalanceTimeout: 60_000,
  // A worker runs one task at a time; do not prefetch a long queue it cannot serve.
  maxBytesPerPartition: 64 * 1024,
  maxBytes: 1024 * 1024,
};

/** Task assignments and job events: acknowledged by all in-sync replicas. */
export const EVENT_PRODUCER_SETTINGS: ProducerConfig = {
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
  idempotent: true,
  maxInFlightRequests: 1,
  retry: { retries: 5 },
};

/** Consumer group of the worker pool over the task topic. */
export const WORKER_GROUP_ID = 'cloudflow.worker.tasks';
/** Consumer group of the scheduler replicas over job events. */
export const SCHEDULER_EVENTS_GROUP_ID = 'cloudflow.job-scheduler.events';

export const RPC_PRODUCER_SETTINGS: ProducerConfig = {
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
  // Requests are bounded by a deadline and de-duplicated by correlation id, so
  // retries are safe; an idempotent producer would cap in-flight requests at one.
  idempotent: false,
  retry: { retries: 3 },
};

/** Consumer group of a service's RPC handlers: its replicas share the topic's partitions. */
export function serviceGroupId(service: string): string {
  return `cloudflow.${service}`;
}

/**
 * A per-process identity, used for the reply group (each caller reads the
 * replies topic in full and keeps its own) and in client ids.
 */
export function instanceId(service: string): string {
  return `${service}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
}

export function createKafka(settings: KafkaSettings, log: KafkaLogSink): Kafka {
  return new Kafka({
    ...CLIENT_SETTINGS,
    brokers: settings.brokers,
    clientId: `cloudflow-${settings.service}`,
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...meta } = entry;
        const text = `kafka: ${message}`;
        if (level === KafkaLogLevel.ERROR) log.error(text, meta);
        else if (level === KafkaLogLevel.WARN) log.warn(text, meta);
        else if (level === KafkaLogLevel.INFO) log.info(text, meta);
        else log.debug(text, meta);
      },
  });
}

/** The topics CloudFlow needs, with their layout. */
export function topicLayout(settings: KafkaSettings): ITopicConfig[] {
  const partitions = settings.rpcPartitions ?? 6;
  const replicationFactor = settings.replicationFactor ?? -1;
  const shortLived = [
    { name: 'retention.ms', value: String(60 * 60 * 1000) },
    { name: 'cleanup.policy', value: 'delete' },
  ];
  const week = [
    { name: 'retention.ms', value: String(7 * 24 * 60 * 60 * 1000) },
    { name: 'cleanup.policy', value: 'delete' },
  ];
  return [
    ...[...Object.values(Topics.rpc), Topics.rpcReplies].map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor,
      configEntries: shortLived,
    })),
    {
      topic: Topics.tasks,
      numPartitions: settings.taskPartitions ?? DEFAULT_TASK_PARTITIONS,
      replicationFactor,
      configEntries: week,
    },
    { topic: Topics.jobEvents, numPartitions: partitions, replicationFactor, configEntries: week },
  ];
}

/**
 * Creates missing topics, and grows the task topic to the configured
 * partition count when it has fewer (a raised worker maximum); partitions
 * are never removed. Safe to call from every process at boot.
 */
export async function ensureTopics(kafka: Kafka, settings: KafkaSettings): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const layout = topicLayout(settings);
    const existing = new Set(await admin.listTopics());
    const missing = layout.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      // Another process may create the same topics concurrently; kafkajs treats
      // "already exists" as success here.
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    }
    const tasks = layout.find((t) => t.topic === Topics.tasks);
    if (tasks && existing.has(tasks.topic)) {
      await growPartitions(admin, tasks.topic, tasks.numPartitions ?? DEFAULT_TASK_PARTITIONS);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Raises `topic` to `count` partitions if it has fewer; answers the count it
 * has afterwards. Several processes may race to raise it: the loser finds it
 * raised.
 */
export async function growPartitions(admin: Admin, topic: string, count: number): Promise<number> {
  const partitionsOf = async () =>
    (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length ?? 0;
  const current = await partitionsOf();
  if (current >= count) return current;
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count }] });
  } catch (error) {
    if ((await partitionsOf()) < count) throw error;
  }
  return partitionsOf();
}

/** Answers whether the cluster is reachable; used by readiness probes. */
export async function pingKafka(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}
