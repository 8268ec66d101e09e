import type { z } from 'zod';

/**
 * The messaging ports every service is written against. Two adapters
 * implement them: Kafka (the distributed deployment) and an in-process bus
 * (standalone mode, one process). The contract suite in
 * transport-contract.int-spec.ts runs against both.
 */

export interface OutgoingMessage {
  key: string;
  value: object;
  /** Pins the partition (the task topic spreads a job's tasks round-robin). */
  partition?: number;
  /**
   * The message's own trace context (W3C `traceparent`, `tracestate`), in
   * place of the active one: a task continues its own dispatch span.
   */
  traceHeaders?: Record<string, string>;
}

/** Publishes facts and commands (task assignments, job events). */
export abstract class TopicPublisher {
  /** Resolves once every message is durably accepted by the transport. */
  abstract publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Partition count of a topic, for round-robin placement. */
  abstract partitionsOf(topic: string): Promise<number>;
}

/** Where a message sat, for reports about messages that could not be read. */
export interface MessagePosition {
  partition: number;
  offset: string;
}

export interface SubscribeOptions<S extends z.ZodType> {
  /** Subscribers sharing a group share the topic's partitions; each message goes to one of them. */
  groupId: string;
  topic: string;
  /**
   * `work`: one long-running message at a time (tasks), so nothing is
   * prefetched that another member could run; `events`: short handlers.
   */
  kind: 'work' | 'events';
  /** A new group starts with the messages already waiting (true) or only new ones. */
  fromBeginning: boolean;
  /** Every message is JSON checked against this schema; others are reported and skipped. */
  schema: S;
  /** Span attributes of a message, for its trace. */
  attributes: (message: z.infer<S>) => Record<string, string | number>;
  /** Handles one message; `heartbeat` tells the transport the member is alive while it works. */
  handle: (message: z.infer<S>, heartbeat: () => Promise<void>) => Promise<void>;
  onMalformed: (where: MessagePosition) => void;
}

export interface Subscription {
  /** Leaves the group once the message in hand (if any) is handled. */
  stop(): Promise<void>;
}

/** Consumes a topic as a member of a group, one message at a time, in order per partition. */
export abstract class TopicSubscriber {
  abstract subscribe<S extends z.ZodType>(options: SubscribeOptions<S>): Promise<Subscription>;
}

/** Readiness of the transport, for /readyz. */
export abstract class TransportReadiness {
  abstract readonly name: string;
  abstract check(): Promise<void>;
}
