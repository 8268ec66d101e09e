import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { JobsRepository } from '@cloudflow/job-store';
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

  constructor(
    private readonly jobs: JobsRepository,
    private readonly reconciler: JobReconciler,
    private readonly planner: JobPlanner,
    @Inject(SCHEDULER_CONFIG) private readonly config: JobSchedulerConfig,
  ) {}

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

  async sweep(now = new Date()): Promise<void> {
    for (const job of await this.jobs.findActive(SWEEP_BATCH)) {
      const scope = { workspaceId: job.workspaceId };
      const planStale =
        job.tasksTotal === null &&
        !job.cancelRequested &&
        !this.planner.isPlanning(job._id) &&
        (job.planRenewedAt === null ||
          now.getTime() - new Date(job.planRenewedAt).getTime() > 6 * PLAN_RENEW_MS);
      if (planStale && now.getTime() - new Date(job.createdAt).getTime() > PLAN_RENEW_MS) {
        this.logger.warn({ jobId: job._id }, 're-planning a job whose planner stopped');
        this.planner.start(job);
        continue;
      }
      await this.reconciler.reconcile(scope, job._id, now);
    }
  }
}
