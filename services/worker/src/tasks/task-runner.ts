import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import {
  AppError,
  Topics,
  emptyTaskCounts,
  isAssembledOutput,
  isTerminalStatus,
  type JobEvent,
  type TaskCounts,
  type TaskMessage,
  type TransformConfig,
} from '@cloudflow/contracts';
import {
  DataPathError,
  DocumentSink,
  FilePartSink,
  PermanentTaskError,
  TransformConfigError,
  assembleParts,
  compileTransforms,
  partFileName,
  decodeKeyRange,
  openByteInput,
  resolveDataPath,
  runRangeTask,
  runRowTask,
  stagingDir,
  textFormatOf,
  workspaceDataRoot,
  type InputAccess,
  type RowSink,
  type RowTransform,
} from '@cloudflow/engine';
import {
  ConnectorError,
  DATA_SOURCE_ACCESS,
  mayPassOnRetry,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  DataSourceClient,
  MongoCollectionSink,
  SqlTableSink,
  readKeyRange,
  uploadS3Object,
  type DataSourceAccess,
} from '@cloudflow/connectors';
import {
  JobLogs,
  JobsRepository,
  RowStore,
  TaskLedger,
  attemptId,
  type JobDocument,
  type JobLogContext,
  type JobLogger,
} from '@cloudflow/job-store';
import { TopicPublisher } from '@cloudflow/messaging';
import { withSpan } from '@cloudflow/observability';
import { recordTaskCommitted, recordTaskStarted } from '@cloudflow/runtime';
import type { WorkspaceScope } from '@cloudflow/persistence';
import { TaskLease } from './task-lease';
import { WORKER_CONFIG, type WorkerConfig } from './worker-settings';

/** The attempt must stop: its job was cancelled or finished, or the task was handed on. */
class TaskStopped extends Error {
  constructor(
    message: string,
    /** A newer attempt owns the task (superseded or fenced): record nothing. */
    readonly handedOn = false,
  ) {
    super(message);
  }
}

export type TaskOutcome = 'committed' | 'skipped' | 'failed' | 'stopped';

/**
 * Runs one task attempt under the ledger's protocol: claim (once), run with a
 * renewed lease, commit (once, and only while still the current attempt).
 * Any failure is recorded for the scheduler, which decides on retries.
 */
@Injectable()
export class TaskRunner {
  /** Unique per process; names the host (the pod), as the pid is 1 in every container. */
  readonly workerId = `worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}@${hostname()}`;
  private readonly transforms = new Map<string, RowTransform>();
  private current?: AbortController;
  /** Set once the worker hands its work back (shutdown): an attempt about to start stops. */
  private handingBack?: string;
  /** What a user reads of the task at `GET /jobs/{id}/logs`, each line also in the process log. */
  private readonly log: JobLogger;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly ledger: TaskLedger,
    private readonly rows: RowStore,
    private readonly publisher: TopicPublisher,
    private readonly dataSources: DataSourceClient,
    @Inject(DATA_SOURCE_ACCESS) private readonly access: DataSourceAccess,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    jobLogs: JobLogs,
  ) {
    this.log = jobLogs.for('worker', TaskRunner.name);
  }

  /**
   * Stops the running task, and any attempt about to start (shutdown); it is
   * recorded as a transient failure and retried.
   */
  abortCurrent(reason: string): void {
    this.handingBack = reason;
    this.current?.abort(new Error(reason));
  }

  async run(message: TaskMessage, keepConsumerAlive: () => Promise<void>): Promise<TaskOutcome> {
    const scope = { workspaceId: message.workspaceId };
    // Claim first (one insert; a redelivered message stops here), then check the rest at once.
    const claimId = attemptId(message.taskId, message.attempt);
    const now = new Date();
    const claimed = await this.ledger.claim({
      _id: claimId,
      workspaceId: message.workspaceId,
      jobId: message.jobId,
      taskId: message.taskId,
      attempt: message.attempt,
      workerId: this.workerId,
      claimedAt: now,
      renewedAt: now,
      progress: emptyTaskCounts(),
    });
    // Another worker holds this attempt (a redelivered message); its lease covers it.
    if (!claimed) return 'skipped';
    const [job, committed, latest] = await Promise.all([
      this.jobs.findById(scope, message.jobId),
      this.ledger.isCommitted(message.taskId),
      this.ledger.latestAttempt(message.taskId),
    ]);
    // Done already, or handed on: the claim is not the task's latest attempt, so it binds nothing.
    if (!job || committed || latest > message.attempt) return 'skipped';
    if (isTerminalStatus(job.status) || job.cancelRequested) {
      // Release the claim at once, so a cancellation does not wait for the lease to lapse.
      const stop = new TaskStopped('the job was cancelled');
      return this.failed(message, stop, stop);
    }
    if (this.handingBack) {
      const stop = new TaskStopped(this.handingBack);
      return this.failed(message, stop, stop);
    }
    this.log.info(this.logContext(message), 'task started');
    await this.emit('task.started', message);
    recordTaskStarted();

    const abort = new AbortController();
    this.current = abort;
    // Handed back while announcing the start: stop before reading anything.
    if (this.handingBack) abort.abort(new Error(this.handingBack));
    const lease = new TaskLease(
      {
        renew: (progress) => this.ledger.renew(claimId, progress, new Date()),
        reasonToStop: () => this.reasonToStop(scope, message),
        keepConsumerAlive,
      },
      abort,
      {
        intervalMs: this.config.TASK_HEARTBEAT_MS,
        stallTimeoutMs: this.stallTimeoutOf(message),
      },
    );
    lease.start();
    try {
      const counts =
        message.kind === 'range'
          ? await this.runRange(job, message, abort.signal, (p) => lease.report(p))
          : await this.finalize(job, abort.signal);
      await lease.stop();
      // Fencing: commit only while this attempt is still the current one.
      const stop = await this.reasonToStop(scope, message);
      if (stop) throw stop;
      const commit = () =>
        this.ledger.commit({
          taskId: message.taskId,
          workspaceId: message.workspaceId,
          jobId: message.jobId,
          seq: message.seq,
          kind: message.kind,
          attempt: message.attempt,
          workerId: this.workerId,
          counts,
          committedAt: new Date(),
        });
      const outcome = await withSpan('task commit', 'internal', {}, commit);
      if (outcome === 'fenced') {
        throw new TaskStopped(
          `attempt ${message.attempt} was fenced off: the task was handed on`,
          true,
        );
      }
      // Counted once per task, by the attempt that committed it.
      recordTaskCommitted(message.kind, counts);
      this.log.info(
        this.logContext(message),
        message.kind === 'finalize' ? 'output assembled' : 'task committed',
        message.kind === 'finalize'
          ? {}
          : {
              rowsRead: counts.rowsRead,
              rowsWritten: counts.rowsWritten,
              rowsRejected: counts.rowsRejected,
            },
      );
      // Stored before the scheduler hears of it: the log of a finished job is complete.
      await this.settleLog(message);
      await this.emit('task.committed', message);
      if (message.kind === 'finalize') {
        await rm(stagingDir(this.config.CLOUDFLOW_DATA_DIR, job._id), {
          recursive: true,
          force: true,
        });
      }
      return 'committed';
    } catch (error) {
      await lease.stop();
      return this.failed(message, abort.signal.reason ?? error, error);
    } finally {
      this.current = undefined;
    }
  }

  /**
   * How long an attempt may go without progress before it counts as hung.
   * Assembling reports no rows; a table read as one task starts with the
   * server sorting the whole table, bounded by the statement timeout instead.
   */
  private stallTimeoutOf(message: TaskMessage): number {
    if (message.kind === 'finalize') return Number.POSITIVE_INFINITY;
    const unsplitTable = message.keys && message.keys.after === null && message.keys.upTo === null;
    return unsplitTable
      ? Math.max(this.config.TASK_STALL_TIMEOUT_MS, DEFAULT_STATEMENT_TIMEOUT_MS)
      : this.config.TASK_STALL_TIMEOUT_MS;
  }

  private async runRange(
    job: JobDocument,
    message: TaskMessage,
    signal: AbortSignal,
    onProgress: (counts: Readonly<TaskCounts>) => void,
  ): Promise<TaskCounts> {
    const scope = { workspaceId: job.workspaceId };
    const rejects = {
      write: async (
        rejections: { line: number; reason: string; row?: Record<string, unknown> }[],
      ) => {
        await this.rows.insertIdempotently(
          this.rows.collectionOf(scope, { kind: 'rejected' }),
          this.rows.rejectedDocs(scope, job._id, rejections),
        );
        // Line numbers only: a reason may quote the row's values, which stay in /rejected.
        const first = rejections[0];
        this.log.warn(this.logContext(message), 'rows rejected', {
          rowsRejected: rejections.length,
          ...(first && { reason: `first at line ${first.line}; reasons in /rejected` }),
        });
      },
    };
    const common = {
      transform: this.transformOf(job),
      sink: await this.sinkOf(job, message),
      rejects,
      policy: job.errorPolicy,
      signal,
      onProgress,
    };
    const source = job.input.source;
    if (source?.kind === 'table') {
      if (!message.keys) throw new PermanentTaskError('table task without a key range');
      const config = await this.dataSources.open(job.workspaceId, source.dataSourceId);
      return runRowTask({
        ...common,
        batches: readKeyRange(config, source, decodeKeyRange(message.keys), {
          ...this.access,
          batchRows: this.config.TASK_BATCH_ROWS,
          signal,
        }),
      });
    }
    if (!message.range) throw new PermanentTaskError('range task without a byte range');
    return runRangeTask({
      ...common,
      source: await openByteInput(job.input, await this.inputAccess(job)),
      range: message.range,
      input: textFormatOf(job.input),
      columns: job.input.columns,
      batchRows: this.config.TASK_BATCH_ROWS,
      maxRecordBytes: this.config.TASK_MAX_RECORD_BYTES,
    });
  }

  private async inputAccess(job: JobDocument): Promise<InputAccess> {
    return {
      dataRoot: await workspaceDataRoot(this.config.CLOUDFLOW_DATA_DIR, job.workspaceId),
      workspaceId: job.workspaceId,
      dataSources: this.dataSources,
      ...this.access,
    };
  }

  private async sinkOf(job: JobDocument, message: TaskMessage): Promise<RowSink> {
    const scope = { workspaceId: job.workspaceId };
    const output = job.output;
    switch (output.kind) {
      case 'file':
      case 'object':
        return new FilePartSink(
          join(
            stagingDir(this.config.CLOUDFLOW_DATA_DIR, job._id),
            'parts',
            partFileName(message.seq, message.attempt),
          ),
          output.format,
          job.input.columns,
        );
      case 'table': {
        const config = await this.dataSources.open(job.workspaceId, output.dataSourceId);
        const options = { ...this.access, jobId: job._id, taskId: message.taskId };
        return output.driver === 'mongodb'
          ? new MongoCollectionSink(config, { driver: 'mongodb', table: output.table }, options)
          : new SqlTableSink(config, { driver: output.driver, table: output.table }, options);
      }
      case 'collection':
        return new DocumentSink((rows, lines) =>
          this.rows.insertIdempotently(
            this.rows.collectionOf(scope, output),
            this.rows.collectionDocs(job._id, rows, lines),
          ),
        );
      case 'result-store':
        return new DocumentSink((rows, lines) =>
          this.rows.insertIdempotently(
            this.rows.collectionOf(scope, output),
            this.rows.resultRowDocs(scope, job._id, rows, lines),
          ),
        );
    }
  }

  /**
   * Assembles the output from the parts of the committed attempts, in input
   * order: into place under the data root, or into the bucket (uploaded from
   * the assembled file, which is then dropped with the staging area).
   */
  private async finalize(job: JobDocument, signal: AbortSignal): Promise<TaskCounts> {
    const output = job.output;
    if (!isAssembledOutput(output)) throw new PermanentTaskError('nothing to assemble');
    const staging = stagingDir(this.config.CLOUDFLOW_DATA_DIR, job._id);
    const commits = await this.ledger.committedRanges(job._id);
    const target =
      output.kind === 'file'
        ? await resolveDataPath(
            await workspaceDataRoot(this.config.CLOUDFLOW_DATA_DIR, job.workspaceId),
            output.path,
          )
        : join(staging, `output.${output.format}`);
    const { bytesWritten } = await assembleParts({
      parts: commits
        .filter((c) => c.counts.rowsWritten > 0)
        .map((c) => join(staging, 'parts', partFileName(c.seq, c.attempt))),
      target,
      format: output.format,
      tmpPath: join(staging, 'output.tmp'),
      signal,
    });
    if (output.kind === 'object') {
      const config = await this.dataSources.open(job.workspaceId, output.dataSourceId);
      await uploadS3Object(config, output.key, target, {
        ...this.access,
        signal,
        contentType: output.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
      });
    }
    return { ...emptyTaskCounts(), bytesRead: bytesWritten };
  }

  private transformOf(job: JobDocument): RowTransform {
    let transform = this.transforms.get(job._id);
    if (!transform) {
      transform = compileTransforms(
        job.steps.filter((s) => s.type === 'transform').map((s) => s.config as TransformConfig),
      );
      if (this.transforms.size > 100) this.transforms.clear();
      this.transforms.set(job._id, transform);
    }
    return transform;
  }

  private async reasonToStop(
    scope: WorkspaceScope,
    message: TaskMessage,
  ): Promise<TaskStopped | null> {
    // Superseded first: a woken attempt whose task was handed on and whose job
    // has since finished was still superseded, and says so.
    const [latest, job] = await Promise.all([
      this.ledger.latestAttempt(message.taskId),
      this.jobs.findById(scope, message.jobId),
    ]);
    if (latest > message.attempt) {
      return new TaskStopped(`attempt ${message.attempt} was superseded by ${latest}`, true);
    }
    if (!job || job.cancelRequested) return new TaskStopped('the job was cancelled');
    if (isTerminalStatus(job.status)) return new TaskStopped(`the job already ${job.status}`);
    return null;
  }

  /**
   * Records why an attempt ended without a commit. An attempt that was handed
   * on (superseded, fenced) records nothing: the newer attempt owns the task.
   * Anything else is recorded, which also releases the claim at once.
   */
  private async failed(message: TaskMessage, cause: unknown, error: unknown): Promise<TaskOutcome> {
    const text = cause instanceof Error ? cause.message : String(cause);
    const context = this.logContext(message);
    const reason = { reason: text };
    const handedOn = [cause, error].some((e) => e instanceof TaskStopped && e.handedOn);
    if (handedOn) {
      this.log.warn(context, 'task stopped', reason);
      await this.settleLog(message);
      return 'stopped';
    }
    const stopped = error instanceof TaskStopped || cause instanceof TaskStopped;
    const permanent =
      error instanceof PermanentTaskError ||
      error instanceof DataPathError ||
      error instanceof TransformConfigError ||
      // A data source refusing for good, or deleted, or no longer parsing: retrying cannot help.
      ((error instanceof ConnectorError || error instanceof AppError) && !mayPassOnRetry(error));
    if (stopped) this.log.warn(context, 'task stopped', reason);
    else if (permanent) this.log.warn(context, 'task failed permanently', reason, error);
    else this.log.error(context, 'task failed; the scheduler will retry it', reason, error);
    // Stored before the failure is recorded: the log of a finished job is complete.
    await this.settleLog(message);
    await this.ledger.recordFailure({
      _id: attemptId(message.taskId, message.attempt),
      workspaceId: message.workspaceId,
      jobId: message.jobId,
      taskId: message.taskId,
      attempt: message.attempt,
      permanent,
      message: text,
      failedAt: new Date(),
    });
    await this.emit('task.failed', message);
    return stopped ? 'stopped' : 'failed';
  }

  private logContext(message: TaskMessage): JobLogContext {
    return {
      workspaceId: message.workspaceId,
      jobId: message.jobId,
      taskId: message.taskId,
      attempt: message.attempt,
      workerId: this.workerId,
    };
  }

  /** The attempt's log lines (and how many its bound left out) are stored; never throws. */
  private async settleLog(message: TaskMessage): Promise<void> {
    this.log.settle(this.logContext(message));
    await this.log.flush();
  }

  private async emit(
    type: 'task.started' | 'task.committed' | 'task.failed',
    message: TaskMessage,
  ): Promise<void> {
    const event: JobEvent = {
      type,
      workspaceId: message.workspaceId,
      jobId: message.jobId,
      taskId: message.taskId,
      attempt: message.attempt,
    };
    await this.publisher.publish(Topics.jobEvents, [{ key: message.jobId, value: event }]);
  }
}
