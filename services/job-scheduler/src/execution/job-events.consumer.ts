import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { JobEventSchema, Topics } from '@cloudflow/contracts';
import {
  SCHEDULER_EVENTS_GROUP_ID,
  TopicSubscriber,
  type Subscription,
} from '@cloudflow/messaging';
import { JobReconciler } from './job-reconciler';

/**
 * Reacts to task events at once (the sweep would get there within seconds).
 * Events are keyed by job id, so one replica sees a job's events in order.
 */
@Injectable()
export class JobEventsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobEventsConsumer.name);
  private subscription?: Subscription;

  constructor(
    private readonly subscriber: TopicSubscriber,
    private readonly reconciler: JobReconciler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.subscriber.subscribe({
      kind: 'events',
      groupId: SCHEDULER_EVENTS_GROUP_ID,
      topic: Topics.jobEvents,
      fromBeginning: false,
      schema: JobEventSchema,
      attributes: (event) => ({ 'cloudflow.job_id': event.jobId, 'cloudflow.event': event.type }),
      handle: async (event) => {
        const scope = { workspaceId: event.workspaceId };
        try {
          if (event.type === 'task.started') {
            await this.reconciler.markStarted(scope, event.jobId, new Date());
          } else {
            this.reconciler.request(scope, event.jobId);
          }
        } catch (error) {
          // The sweep reconciles the job again shortly; do not block the partition.
          this.logger.warn({ err: error, jobId: event.jobId }, 'job event not handled');
        }
      },
      onMalformed: (where) => this.logger.warn(where, 'ignoring a malformed job event'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }
}
