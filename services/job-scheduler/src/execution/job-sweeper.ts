import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { JobLogs, JobsRepository, type JobDocument, type JobLogger } from '@cloudflow/job-store';
import { withLinkedSpan } from '@cloudflow/observability';
import type { JobSchedulerConfig } from '../job-scheduler.config';
import { JobPlanner, PLAN_RENEW_MS } from './job-planner';
import { JobReconciler } from './job-reconciler';
import { SCHEDULER_CONFIG } from './scheduler-settings';

const SWEEP_BATCH = 500;

/**
 * The safety net under the event-driven path: every few seconds, each
 * unfinished job is reconciled, which is what notices dead workers (leases
 * not renewed), due retries, timeouts, and planners that died mid-plan.
 */
@Injectable()
export class JobSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobSweeper.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private readonly log: JobLogger;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly reconciler: JobReconciler,
    private readonly planner: JobPlanner,
    @Inject(SCHEDULER_CONFIG) private readonly config: JobSchedulerConfig,
    jobLogs: JobLogs,
  ) {
    this.log = jobLogs.for('job-scheduler', JobSweeper.name);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, this.config.JOB_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Every unfinished job, page by page; one job's trouble does not hold up the others. */
  async sweep(now = new Date()): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.jobs.findActive(SWEEP_BATCH, after);
      for (const job of page) {
        // A span of its own, so what sweeping a job logs carries a trace id like the rest: a
        // trace per sweep linked to the job's (a sweep every few seconds would bloat the job's
        // trace); a retry it dispatches still joins the job's trace.
        await withLinkedSpan(
          'job sweep',
          { 'cloudflow.job_id': job._id },
          () =>
            this.sweepOne(job, now).catch((error: unknown) =>
              this.logger.warn({ err: error, jobId: job._id }, 'sweeping a job failed'),
            ),
          job.traceContext,
        );
      }
      if (page.length < SWEEP_BATCH) return;
      after = page[page.length - 1]?._id;
    }
  }

  private async sweepOne(job: JobDocument, now: Date): Promise<void> {
    const planStale =
      job.tasksTotal === null &&
      !job.cancelRequested &&
      !this.planner.isPlanning(job._id) &&
      (job.planRenewedAt === null ||
        now.getTime() - new Date(job.planRenewedAt).getTime() > 6 * PLAN_RENEW_MS);
    if (planStale && now.getTime() - new Date(job.createdAt).getTime() > PLAN_RENEW_MS) {
      this.log.warn(
        { workspaceId: job.workspaceId, jobId: job._id },
        're-planning a job whose planner stopped',
      );
      this.planner.start(job);
      return;
    }
    await this.reconciler.reconcile({ workspaceId: job.workspaceId }, job._id, now);
  }
}
