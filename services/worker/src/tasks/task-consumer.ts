import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { TaskMessageSchema, Topics } from '@cloudflow/contracts';
import { TopicSubscriber, WORKER_GROUP_ID, type Subscription } from '@cloudflow/messaging';
import { recordTaskFinished } from '@cloudflow/runtime';
import { TaskRunner } from './task-runner';
import { WORKER_CONFIG, type WorkerConfig } from './worker-settings';

/** What a draining worker keeps of its shutdown budget to hand a task back and leave the group. */
export const DRAIN_RESERVE_MS = 5_000;

/** How long the running task may finish after SIGTERM before it is handed back. */
export function drainBudgetMs(
  config: Pick<WorkerConfig, 'SHUTDOWN_TIMEOUT_MS' | 'TASK_DRAIN_TIMEOUT_MS'>,
): number {
  return Math.max(
    0,
    Math.min(config.TASK_DRAIN_TIMEOUT_MS, config.SHUTDOWN_TIMEOUT_MS - DRAIN_RESERVE_MS),
  );
}

/**
 * The worker pool: every worker process is a member of one consumer group on
 * the task topic, so adding a worker adds a share of the partitions. A worker
 * runs one task at a time; the offset is committed once the task is done with
 * (committed, failed and recorded, or skipped as a duplicate).
 */
@Injectable()
export class TaskConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TaskConsumer.name);
  private subscription?: Subscription;

  constructor(
    private readonly subscriber: TopicSubscriber,
    private readonly runner: TaskRunner,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
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
        const started = performance.now();
        const outcome = await this.runner.run(task, heartbeat);
        recordTaskFinished(outcome, (performance.now() - started) / 1000);
        this.logger.log(
          { jobId: task.jobId, taskId: task.taskId, attempt: task.attempt, outcome },
          'task handled',
        );
      },
      onMalformed: (where) => this.logger.warn(where, 'ignoring a malformed task message'),
    });
  }

  /**
   * Draining (SIGTERM), before the publisher and the store close: take no
   * new task, let the running one finish within the drain budget, and hand
   * it back if it does not (recorded as a transient failure, so the
   * scheduler re-dispatches it at once to another worker). Leaving the group
   * moves this worker's partitions to the others.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const subscription = this.subscription;
    if (!subscription) return;
    this.subscription = undefined;
    // Stops deliveries now; settles once the task in hand (if any) is handled.
    const left = subscription.stop();
    const budget = drainBudgetMs(this.config);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      left.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budget))),
    ]).finally(() => clearTimeout(timer));
    if (!drained) {
      this.logger.warn(
        { drainMs: budget },
        'the running task did not finish within the drain budget; handing it back',
      );
      this.runner.abortCurrent('the worker is shutting down');
      await left;
    }
  }
}
