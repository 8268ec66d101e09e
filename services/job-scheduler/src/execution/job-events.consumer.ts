import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import { JobEventSchema, Topics } from '@cloudflow/contracts';
import {
  CONSUMER_SETTINGS,
  KAFKA,
  SCHEDULER_EVENTS_GROUP_ID,
  TOPICS_READY,
  consumeTopic,
} from '@cloudflow/messaging';
import { JobReconciler } from './job-reconciler';

/**
 * Reacts to task events at once (the sweep would get there within seconds).
 * Events are keyed by job id, so one replica sees a job's events in order.
 */
@Injectable()
export class JobEventsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobEventsConsumer.name);
  private consumer?: Consumer;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPICS_READY) private readonly topicsReady: Promise<void>,
    private readonly reconciler: JobReconciler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.topicsReady;
    this.consumer = await consumeTopic({
      kafka: this.kafka,
      settings: CONSUMER_SETTINGS,
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
    await this.consumer?.disconnect();
  }
}
