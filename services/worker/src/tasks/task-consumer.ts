import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import { TaskMessageSchema, Topics } from '@cloudflow/contracts';
import { KAFKA, TASK_CONSUMER_SETTINGS, TOPICS_READY, WORKER_GROUP_ID } from '@cloudflow/messaging';
import { extractTraceContext, withSpan } from '@cloudflow/observability';
import { TaskRunner } from './task-runner';

/**
 * The worker pool: every worker process is a member of one consumer group on
 * the task topic, so adding a worker adds a share of the partitions. A worker
 * runs one task at a time; the offset is committed once the task is done with
 * (committed, failed and recorded, or skipped as a duplicate).
 */
@Injectable()
export class TaskConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskConsumer.name);
  private consumer?: Consumer;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPICS_READY) private readonly topicsReady: Promise<void>,
    private readonly runner: TaskRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.topicsReady;
    const consumer = this.kafka.consumer({ ...TASK_CONSUMER_SETTINGS, groupId: WORKER_GROUP_ID });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: Topics.tasks, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachMessage: async ({ message, heartbeat, partition }) => {
        const parsed = TaskMessageSchema.safeParse(safeJson(message.value?.toString()));
        if (!parsed.success) {
          this.logger.warn(
            { partition, offset: message.offset },
            'ignoring a malformed task message',
          );
          return;
        }
        const task = parsed.data;
        const outcome = await withSpan(
          `${Topics.tasks} process`,
          'consumer',
          {
            'messaging.system': 'kafka',
            'cloudflow.job_id': task.jobId,
            'cloudflow.task_id': task.taskId,
            'cloudflow.attempt': task.attempt,
          },
          () => this.runner.run(task, heartbeat),
          extractTraceContext(message.headers ?? {}),
        );
        this.logger.log(
          { jobId: task.jobId, taskId: task.taskId, attempt: task.attempt, outcome },
          'task handled',
        );
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Hand the running task back: it is recorded as failed and retried elsewhere.
    this.runner.abortCurrent('the worker is shutting down');
    await this.consumer?.disconnect();
  }
}

function safeJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
