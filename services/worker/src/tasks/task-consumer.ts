import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { TaskMessageSchema, Topics } from '@cloudflow/contracts';
import { TopicSubscriber, WORKER_GROUP_ID, type Subscription } from '@cloudflow/messaging';
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
  private subscription?: Subscription;

  constructor(
    private readonly subscriber: TopicSubscriber,
    private readonly runner: TaskRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.subscriber.subscribe({
      kind: 'work',
      groupId: WORKER_GROUP_ID,
      topic: Topics.tasks,
      fromBeginning: true,
      schema: TaskMessageSchema,
      attributes: (task) => ({
        'cloudflow.job_id': task.jobId,
        'cloudflow.task_id': task.taskId,
        'cloudflow.attempt': task.attempt,
      }),
      handle: async (task, heartbeat) => {
        const outcome = await this.runner.run(task, heartbeat);
        this.logger.log(
          { jobId: task.jobId, taskId: task.taskId, attempt: task.attempt, outcome },
          'task handled',
        );
      },
      onMalformed: (where) => this.logger.warn(where, 'ignoring a malformed task message'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Hand the running task back: it is recorded as failed and retried elsewhere.
    this.runner.abortCurrent('the worker is shutting down');
    await this.subscription?.stop();
  }
}
