import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  type SASLOptions,
} from 'kafkajs';
import { ConfigError, type KafkaConnectionEnv, type KafkaSaslMechanism } from '@cloudflow/config';
import { Topics } from '@cloudflow/contracts';

/**
 * Every Kafka setting CloudFlow uses lives in this file: connection (brokers,
 * TLS, SASL), client, producer, consumer and topic layout. Tune here, nowhere
 * else.
 */
export interface KafkaSettings extends KafkaConnection {
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

/** How to reach the cluster: bootstrap brokers, TLS, SASL. */
export interface KafkaConnection {
  brokers: string[];
  /** TLS to the brokers; absent: plaintext. */
  tls?: KafkaTls;
  /** SASL authentication; absent: none. */
  sasl?: KafkaSasl;
}

export interface KafkaTls {
  /**
   * PEM CA certificates the brokers' certificates must chain to, in place of
   * Node.js's bundled public CAs (a private CA); absent: the public CAs.
   */
  ca?: string;
}

export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  /** Never logged, never part of an error message. */
  password: string;
}

/**
 * The connection the environment describes (KafkaConnectionEnvSchema of
 * @cloudflow/config, already parsed): checks how the variables combine and
 * reads the CA file. Throws ConfigError naming each variable at fault; no
 * message ever contains the password.
 */
export function kafkaConnectionOf(
  env: Partial<KafkaConnectionEnv>,
  readCaFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): KafkaConnection {
  const problems: string[] = [];
  const brokers = env.KAFKA_BROKERS ?? [];
  if (brokers.length === 0) problems.push('KAFKA_BROKERS: required but not set');

  let tls: KafkaTls | undefined;
  const caFile = env.KAFKA_TLS_CA_FILE;
  if (env.KAFKA_TLS) {
    tls = {};
    if (caFile) {
      const ca = readCa(caFile, readCaFile, problems);
      if (ca) tls.ca = ca;
    }
  } else if (caFile) {
    problems.push('KAFKA_TLS_CA_FILE: only used with TLS: set KAFKA_TLS=true as well, or unset it');
  }

  let sasl: KafkaSasl | undefined;
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username } = env;
  const password = env.KAFKA_SASL_PASSWORD;
  if (mechanism) {
    if (!username) problems.push('KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set');
    if (!password) problems.push('KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set');
    if (username && password) sasl = { mechanism, username, password };
  } else {
    const without =
      'set, but KAFKA_SASL_MECHANISM is not: name the mechanism (plain, scram-sha-256 or scram-sha-512), or unset it';
    if (username) problems.push(`KAFKA_SASL_USERNAME: ${without}`);
    if (password) problems.push(`KAFKA_SASL_PASSWORD: ${without}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { brokers, ...(tls && { tls }), ...(sasl && { sasl }) };
}

function readCa(
  path: string,
  read: (path: string) => string,
  problems: string[],
): string | undefined {
  let pem: string;
  try {
    pem = read(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`KAFKA_TLS_CA_FILE: cannot read ${path} (${code})`);
    return undefined;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(
      `KAFKA_TLS_CA_FILE: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
    return undefined;
  }
  return pem;
}

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

/**
 * The kafkajs client configuration of a CloudFlow process. kafkajs logs at
 * WARN and above only, into `log`: its debug lines (and protocol buffers,
 * with KAFKAJS_DEBUG_PROTOCOL_BUFFERS) could carry SASL exchanges.
 */
export function kafkaClientConfig(settings: KafkaSettings, log: KafkaLogSink): KafkaConfig {
  return {
    ...CLIENT_SETTINGS,
    brokers: settings.brokers,
    clientId: `cloudflow-${settings.service}`,
    ...(settings.tls && { ssl: settings.tls.ca ? { ca: [settings.tls.ca] } : true }),
    ...(settings.sasl && { sasl: saslOptions(settings.sasl) }),
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
  };
}

function saslOptions({ mechanism, username, password }: KafkaSasl): SASLOptions {
  switch (mechanism) {
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
  }
}

/** The Kafka client of a process; every producer, consumer and admin client comes from it. */
export function createKafka(settings: KafkaSettings, log: KafkaLogSink): Kafka {
  if (settings.sasl?.mechanism === 'plain' && !settings.tls) {
    log.warn('kafka: SASL PLAIN without TLS sends the password in clear; set KAFKA_TLS=true', {
      brokers: settings.brokers,
    });
  }
  return new Kafka(kafkaClientConfig(settings, log));
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
