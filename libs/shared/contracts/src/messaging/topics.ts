/**
 * Kafka topic names. Renaming a topic is a migration: producers and consumers
 * of different versions must agree during a rolling upgrade.
 */
export const Topics = {
  /** Request/reply commands, one topic per owning service. */
  rpc: {
    auth: 'cloudflow.rpc.auth',
    pipelineRegistry: 'cloudflow.rpc.pipeline-registry',
    jobScheduler: 'cloudflow.rpc.job-scheduler',
    datasourceBroker: 'cloudflow.rpc.datasource-broker',
  },
  /** Replies to every RPC; each caller instance filters its own by header. */
  rpcReplies: 'cloudflow.rpc.replies',
  /** Task assignments; the worker pool is one consumer group over its partitions. */
  tasks: 'cloudflow.tasks',
  /** What happened to tasks and jobs, keyed by job id; the scheduler consumes it. */
  jobEvents: 'cloudflow.jobs.events',
} as const;

export type RpcTopic = (typeof Topics.rpc)[keyof typeof Topics.rpc];

/** Message headers CloudFlow sets. Renaming one is a migration too. */
export const KafkaHeaders = {
  pattern: 'cf-pattern',
  correlationId: 'cf-correlation-id',
  replyTo: 'cf-reply-to',
  replyInstance: 'cf-reply-instance',
  deadline: 'cf-deadline',
  requestId: 'cf-request-id',
} as const;
