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
} from '@cloudflow/messaging';
import { extractTraceContext, withSpan } from '@cloudflow/observability';
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
    const consumer = this.kafka.consumer({
      ...CONSUMER_SETTINGS,
      groupId: SCHEDULER_EVENTS_GROUP_ID,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: Topics.jobEvents, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const parsed = JobEventSchema.safeParse(safeJson(message.value?.toString()));
        if (!parsed.success) {
          this.logger.warn({ offset: message.offset }, 'ignoring a malformed job event');
          return;
        }
        const event = parsed.data;
        const scope = { workspaceId: event.workspaceId };
        await withSpan(
          `${Topics.jobEvents} process`,
          'consumer',
          {
            'messaging.system': 'kafka',
            'cloudflow.job_id': event.jobId,
            'cloudflow.event': event.type,
          },
          async () => {
            if (event.type === 'task.started') {
              const at = new Date(Number(message.timestamp));
              await this.reconciler.markStarted(scope, event.jobId, at);
            } else {
              this.reconciler.request(scope, event.jobId);
            }
          },
          extractTraceContext(message.headers ?? {}),
        ).catch((error: unknown) => {
          // The sweep reconciles the job again shortly; do not block the partition.
          this.logger.warn({ err: error, jobId: event.jobId }, 'job event not handled');
        });
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
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
