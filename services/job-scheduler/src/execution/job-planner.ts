import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import {
  DATA_SOURCE_ACCESS,
  DataSourceClient,
  planKeyRanges,
  type DataSourceAccess,
} from '@cloudflow/connectors';
import {
  decodeKeyRange,
  encodeKeyRange,
  openByteInput,
  planRanges,
  textFormatOf,
  workspaceDataRoot,
} from '@cloudflow/engine';
import {
  JobLogs,
  JobsRepository,
  TaskLedger,
  taskId,
  type JobDocument,
  type JobLogger,
  type TaskDocument,
} from '@cloudflow/job-store';
import { continueStoredTrace, withSpan } from '@cloudflow/observability';
import type { JobSchedulerConfig } from '../job-scheduler.config';
import { SCHEDULER_CONFIG } from './scheduler-settings';
import { TaskDispatcher } from './task-dispatcher';
import { isInfrastructureError } from './infrastructure-error';
import { JobReconciler } from './job-reconciler';

interface ResumePoint {
  seq: number;
  after: { after: unknown; firstLine: number };
}

/** Planning renews its heartbeat this often; the sweep takes over a planner silent for 6x as long. */
export const PLAN_RENEW_MS = 5_000;

/**
 * Splits a job's input into record-aligned byte ranges and dispatches each
 * as soon as it is known, so workers start before planning ends. Planning is
 * deterministic (same ranges, same task ids), so a re-plan after a crash
 * dispatches nothing twice that matters: workers ignore duplicate attempts.
 */
@Injectable()
export class JobPlanner implements OnApplicationShutdown {
  private readonly logger = new Logger(JobPlanner.name);
  private readonly running = new Map<string, AbortController>();
  private readonly log: JobLogger;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly ledger: TaskLedger,
    private readonly dispatcher: TaskDispatcher,
    private readonly reconciler: JobReconciler,
    private readonly dataSources: DataSourceClient,
    @Inject(DATA_SOURCE_ACCESS) private readonly access: DataSourceAccess,
    @Inject(SCHEDULER_CONFIG) private readonly config: JobSchedulerConfig,
    jobLogs: JobLogs,
  ) {
    this.log = jobLogs.for('job-scheduler', JobPlanner.name);
  }

  isPlanning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  /**
   * Starts planning in the background; errors fail the job rather than escape.
   * Planning runs in a `job plan` span of the job's trace, whether the
   * submission or the sweep (a re-plan) starts it.
   */
  start(job: JobDocument): void {
    if (this.running.has(job._id)) return;
    const abort = new AbortController();
    this.running.set(job._id, abort);
    // The heartbeat beats on a timer, not per range: one slow planning query
    // (a count, an index walk) must not make another replica plan the job too.
    const heartbeat = setInterval(() => void this.renewPlan(job, abort), PLAN_RENEW_MS);
    void withSpan(
      'job plan',
      'internal',
      { 'cloudflow.job_id': job._id },
      () => this.plan(job, abort.signal),
      continueStoredTrace(job.traceContext),
    )
      .catch((error: unknown) =>
        // Stopped by a shutdown or a cancel: the sweep and the reconciler take it from here.
        abort.signal.aborted ? undefined : this.planningFailed(job, error),
      )
      .finally(() => {
        clearInterval(heartbeat);
        this.running.delete(job._id);
      });
  }

  /** Renews the planning heartbeat, or stops planning a job that was cancelled. */
  private async renewPlan(job: JobDocument, abort: AbortController): Promise<void> {
    const scope = { workspaceId: job.workspaceId };
    try {
      const current = await this.jobs.findById(scope, job._id);
      if (!current || current.cancelRequested) {
        abort.abort(new Error('the job was cancelled'));
        return;
      }
      await this.jobs.update(scope, job._id, { planRenewedAt: new Date() });
    } catch (error) {
      this.logger.warn({ jobId: job._id, err: error }, 'planning heartbeat not renewed');
    }
  }

  onApplicationShutdown(): void {
    for (const abort of this.running.values()) abort.abort();
  }

  private async plan(job: JobDocument, signal: AbortSignal): Promise<void> {
    const scope = { workspaceId: job.workspaceId };
    const resume = await this.resumePoint(job);
    let seq = resume?.seq ?? 0;
    let planned = 0;
    let batch: TaskDocument[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      // Workers need only the message; the task records are for re-dispatch, so both at once.
      await Promise.all([
        this.ledger.planTasks(batch),
        this.dispatcher.dispatch(batch.map((task) => ({ task, attempt: 1 }))),
      ]);
      batch = [];
    };
    for await (const share of this.shares(job, signal, resume)) {
      batch.push({
        _id: taskId(job._id, seq),
        workspaceId: job.workspaceId,
        jobId: job._id,
        seq,
        kind: 'range',
        ...share,
        createdAt: new Date(),
      });
      seq++;
      planned++;
      // The first task goes out at once (latency); later ones in small batches (throughput).
      if (planned === 1 || batch.length >= 32) await flush();
    }
    await flush();
    await this.jobs.update(scope, job._id, { tasksTotal: seq, planRenewedAt: null });
    trace.getActiveSpan()?.setAttribute('cloudflow.tasks', seq);
    this.log.info({ workspaceId: job.workspaceId, jobId: job._id }, 'job planned', { tasks: seq });
    await this.reconciler.reconcile(scope, job._id);
  }

  /**
   * The input's shares, one per task, in input order: byte ranges of a file
   * or object that start and end on record boundaries, or key ranges of a table.
   */
  private async *shares(
    job: JobDocument,
    signal: AbortSignal,
    resume: ResumePoint | null,
  ): AsyncGenerator<Pick<TaskDocument, 'range' | 'keys'>> {
    const source = job.input.source;
    if (source?.kind === 'table') {
      const config = await this.dataSources.open(job.workspaceId, source.dataSourceId);
      for await (const keys of planKeyRanges(config, source, {
        ...this.access,
        chunkRows: this.config.TASK_TARGET_ROWS,
        signal,
        ...(resume && { resumeAfter: resume.after }),
      })) {
        yield { keys: encodeKeyRange(keys) };
      }
      return;
    }
    const bytes = await openByteInput(job.input, {
      dataRoot: await workspaceDataRoot(this.config.CLOUDFLOW_DATA_DIR, job.workspaceId),
      workspaceId: job.workspaceId,
      dataSources: this.dataSources,
      ...this.access,
    });
    for await (const range of planRanges(bytes, textFormatOf(job.input), {
      targetBytes: this.config.TASK_TARGET_BYTES,
      dataStart: job.input.dataStart,
      firstDataLine: job.input.firstDataLine,
      signal,
    })) {
      yield { range };
    }
  }

  /**
   * Where a re-plan of a table starts: after the last range already planned.
   * Files and objects are planned again from the start instead — their bytes
   * are pinned, so the same ranges come out under the same task ids.
   */
  private async resumePoint(job: JobDocument): Promise<ResumePoint | null> {
    if (job.input.source?.kind !== 'table') return null;
    const last = await this.ledger.lastPlannedRange(job._id);
    if (!last?.keys) return null;
    const keys = decodeKeyRange(last.keys);
    return {
      seq: last.seq + 1,
      after: { after: keys.upTo, firstLine: keys.firstLine + keys.rows },
    };
  }

  private async planningFailed(job: JobDocument, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const context = { workspaceId: job.workspaceId, jobId: job._id };
    if (isInfrastructureError(error)) {
      // The sweep re-plans once the planning heartbeat is stale.
      this.log.warn(context, 'planning interrupted; will be retried', { reason: message }, error);
      return;
    }
    this.log.error(context, 'planning failed', { reason: message }, error);
    const scope = { workspaceId: job.workspaceId };
    const outcome = {
      _id: job._id,
      status: 'FAILED' as const,
      error: { message: `the input could not be planned: ${message}` },
      finishedAt: new Date(),
    };
    await this.jobs
      .recordOutcome(scope, outcome)
      .then(async (won) => {
        if (won) await this.reconciler.logFinished(job, outcome);
        await this.reconciler.reconcile(scope, job._id);
      })
      .catch((e: unknown) => this.logger.error({ jobId: job._id, err: e }, 'recording failed'));
  }
}
