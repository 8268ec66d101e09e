import { rm } from 'node:fs/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Context } from '@opentelemetry/api';
import { stagingDir } from '@cloudflow/engine';
import {
  isAssembledOutput,
  isTerminalStatus,
  type JobProgress,
  type TerminalJobStatus,
} from '@cloudflow/contracts';
import {
  JobLogs,
  JobsRepository,
  TaskLedger,
  taskId,
  type JobDocument,
  type JobLogger,
  type TaskDocument,
} from '@cloudflow/job-store';
import { continueStoredTrace } from '@cloudflow/observability';
import type { WorkspaceScope } from '@cloudflow/persistence';
import type { JobSchedulerConfig } from '../job-scheduler.config';
import { attemptsOf, decide, firstClaimAt, progressOf, type ExecutionPolicy } from './job-analysis';
import { SCHEDULER_CONFIG, executionPolicy } from './scheduler-settings';
import { TaskDispatcher } from './task-dispatcher';

/**
 * Moves a job forward from what the ledger says: dispatches retries and the
 * final assembly, expires dead workers' leases, and records the one terminal
 * outcome. Idempotent: events, the sweep and any replica may call it at once.
 */
@Injectable()
export class JobReconciler {
  private readonly logger = new Logger(JobReconciler.name);
  private readonly policy: ExecutionPolicy;
  /** Jobs with a reconcile in flight, and whether another was asked for meanwhile. */
  private readonly inFlight = new Map<string, { again: boolean }>();
  private readonly log: JobLogger;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly ledger: TaskLedger,
    private readonly dispatcher: TaskDispatcher,
    @Inject(SCHEDULER_CONFIG) private readonly config: JobSchedulerConfig,
    jobLogs: JobLogs,
  ) {
    this.policy = executionPolicy(config);
    this.log = jobLogs.for('job-scheduler', JobReconciler.name);
  }

  /**
   * Asks for a reconcile without waiting. Requests for a job that arrive while
   * one runs collapse into one more run, so a burst of task events costs two
   * ledger reads, not one per event.
   */
  request(scope: WorkspaceScope, jobId: string): void {
    const running = this.inFlight.get(jobId);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.inFlight.set(jobId, state);
    void (async () => {
      do {
        state.again = false;
        await this.reconcile(scope, jobId).catch((error: unknown) =>
          // The sweep reconciles the job again shortly.
          this.logger.warn({ err: error, jobId }, 'reconcile failed'),
        );
      } while (state.again);
      this.inFlight.delete(jobId);
    })();
  }

  /** A task started: a QUEUED job becomes RUNNING. Cheaper than a reconcile. */
  async markStarted(scope: WorkspaceScope, jobId: string, at: Date): Promise<void> {
    await this.jobs.markRunning(scope, jobId, at);
  }

  async reconcile(scope: WorkspaceScope, jobId: string, now = new Date()): Promise<void> {
    const job = await this.jobs.findById(scope, jobId);
    if (!job || isTerminalStatus(job.status)) return;
    const outcome = await this.jobs.findOutcome(scope, jobId);
    if (outcome) {
      // A replica recorded the outcome but stopped before updating the job.
      const snapshot = await this.ledger.snapshot(jobId);
      // What this process logged for the job is stored before the job shows it finished.
      await this.log.flush();
      await this.jobs.update(scope, jobId, {
        status: outcome.status,
        error: outcome.error,
        finishedAt: outcome.finishedAt,
        final: { progress: progressOf(job, snapshot), attempts: attemptsOf(snapshot) },
      });
      return;
    }
    const snapshot = await this.ledger.snapshot(jobId);
    const decision = decide(job, snapshot, now, this.policy);
    if (decision.kind === 'finish') {
      const startedAt = job.startedAt ?? firstClaimAt(snapshot.claims);
      const final = { progress: progressOf(job, snapshot), attempts: attemptsOf(snapshot) };
      await this.finish(scope, job, decision.status, decision.error, startedAt, final);
      return;
    }
    if (decision.startedAt && job.status === 'QUEUED') {
      await this.jobs.update(scope, jobId, { status: 'RUNNING', startedAt: decision.startedAt });
    }
    // Retries and the assembly continue the job's trace, whatever asked for this reconcile.
    const trace = continueStoredTrace(job.traceContext);
    // The dispatcher logs each attempt it sends (with why) to the job's log and the process log.
    if (decision.dispatch.length > 0) await this.dispatcher.dispatch(decision.dispatch, now, trace);
    if (decision.resend.length > 0) await this.dispatcher.resend(decision.resend, now, trace);
    if (decision.finalize) await this.dispatchFinalize(job, now, trace);
  }

  /**
   * The job's last line, "job finished" with its status, counts and duration:
   * written by the replica whose outcome was recorded (once, however many
   * reconciled it), and stored before the job shows the status, so the log
   * of a finished job is complete.
   */
  async logFinished(
    job: JobDocument,
    outcome: { status: TerminalJobStatus; error: JobDocument['error']; finishedAt: Date },
    progress?: JobProgress,
  ): Promise<void> {
    const context = { workspaceId: job.workspaceId, jobId: job._id };
    const fields = {
      status: outcome.status,
      ...(progress && {
        rowsRead: progress.rowsRead,
        rowsWritten: progress.rowsWritten,
        rowsRejected: progress.rowsRejected,
      }),
      durationMs: new Date(outcome.finishedAt).getTime() - new Date(job.createdAt).getTime(),
      ...(outcome.error && { reason: outcome.error.message }),
    };
    if (outcome.status === 'FAILED') this.log.error(context, 'job finished', fields);
    else this.log.info(context, 'job finished', fields);
    this.log.settle(context);
    await this.log.flush();
  }

  private async dispatchFinalize(job: JobDocument, now: Date, trace: Context): Promise<void> {
    const seq = job.tasksTotal ?? 0;
    const task: TaskDocument = {
      _id: taskId(job._id, seq),
      workspaceId: job.workspaceId,
      jobId: job._id,
      seq,
      kind: 'finalize',
      createdAt: now,
    };
    await this.ledger.planTasks([task]);
    await this.dispatcher.dispatch([{ task, attempt: 1 }], now, trace);
  }

  private async finish(
    scope: WorkspaceScope,
    job: JobDocument,
    status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
    error: JobDocument['error'],
    startedAt: Date | null,
    final: JobDocument['final'],
  ): Promise<void> {
    // The moment the outcome is recorded, not the reconcile's `now`: a sweep's
    // `now` is taken before it reads the ledger, so it can precede the claims it saw.
    const recorded = { _id: job._id, status, error, finishedAt: new Date() };
    if (await this.jobs.recordOutcome(scope, recorded)) {
      await this.logFinished(job, recorded, final?.progress);
    } else {
      // What this process logged for the job is stored before the job shows it finished.
      await this.log.flush();
    }
    // Whoever won, the job shows the recorded outcome.
    const outcome = await this.jobs.findOutcome(scope, job._id);
    if (!outcome) return;
    await this.jobs.update(scope, job._id, {
      status: outcome.status,
      error: outcome.error,
      finishedAt: outcome.finishedAt,
      startedAt,
      final,
    });
    if (isAssembledOutput(job.output)) {
      // Parts of a job that did not succeed are never assembled; drop them.
      await rm(stagingDir(this.config.CLOUDFLOW_DATA_DIR, job._id), {
        recursive: true,
        force: true,
      }).catch((error: unknown) =>
        this.logger.warn({ err: error, jobId: job._id }, 'staged parts not removed'),
      );
    }
  }
}
