import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Topics } from '@cloudflow/contracts';
import { JobsRepository } from '@cloudflow/job-store';
import {
  ConsumerLag,
  SCHEDULER_EVENTS_GROUP_ID,
  WORKER_GROUP_ID,
  serviceGroupId,
  type ConsumerGroupRef,
} from '@cloudflow/messaging';
import {
  cachedFor,
  exposeMetrics,
  jobStateSamples,
  jobsByState,
  kafkaConsumerLag,
  taskLeaseExpiriesTotal,
  tasksRetriedTotal,
} from '@cloudflow/runtime';

/** Scrapes within this long of the last one answer its figures instead of asking again. */
export const SCRAPE_CACHE_MS = 5_000;
/** A figure that takes longer than this is left out of the scrape. */
const SOURCE_TIMEOUT_MS = 5_000;

/** The groups whose lag the scheduler reports: the worker pool's, and its own. */
export const LAG_GROUPS: ConsumerGroupRef[] = [
  { groupId: WORKER_GROUP_ID, topic: Topics.tasks, fromBeginning: true },
  { groupId: SCHEDULER_EVENTS_GROUP_ID, topic: Topics.jobEvents, fromBeginning: false },
  {
    groupId: serviceGroupId('job-scheduler'),
    topic: Topics.rpc.jobScheduler,
    fromBeginning: false,
  },
];

/**
 * The job-scheduler's metrics read at scrape time: jobs of the whole
 * installation by state (counted in the store) and consumer-group lag,
 * each asked at most once per SCRAPE_CACHE_MS however many scrape. Its
 * counters (retries, lease expiries) are recorded by the TaskDispatcher.
 */
@Injectable()
export class SchedulerMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SchedulerMetrics.name);
  private readonly removers: (() => void)[] = [];

  constructor(
    private readonly jobs: JobsRepository,
    private readonly lag: ConsumerLag,
  ) {}

  onModuleInit(): void {
    exposeMetrics(tasksRetriedTotal, taskLeaseExpiriesTotal);
    const jobCounts = cachedFor(SCRAPE_CACHE_MS, () =>
      this.reported('job counts', () => this.jobs.countByStatus()),
    );
    const groupLag = cachedFor(SCRAPE_CACHE_MS, () =>
      this.reported('consumer lag', () => this.lag.of(LAG_GROUPS)),
    );
    this.removers.push(
      jobsByState.provide(async () => jobStateSamples(await jobCounts())),
      kafkaConsumerLag.provide(async () =>
        (await groupLag()).map(({ groupId, topic, lag }) => ({
          labels: { group: groupId, topic },
          value: lag,
        })),
      ),
    );
  }

  onModuleDestroy(): void {
    for (const remove of this.removers.splice(0)) remove();
  }

  /** Runs `read` within SOURCE_TIMEOUT_MS; a failure is logged and passed on. */
  private async reported<T>(what: string, read: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${SOURCE_TIMEOUT_MS} ms`)),
        SOURCE_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([read(), late]);
    } catch (error) {
      this.logger.warn({ err: error }, `metrics: ${what} unavailable for this scrape`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
