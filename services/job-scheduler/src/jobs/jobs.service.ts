import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  Topics,
  isTerminalStatus,
  requireScope,
  type Job,
  type JobEvent,
  type JobLogEntry,
  type JobResults,
  type ListJobsQuery,
  type Page,
  type Principal,
  type SubmitJobRequest,
} from '@cloudflow/contracts';
import {
  JobLogRepository,
  JobLogs,
  JobsRepository,
  RowStore,
  TaskLedger,
  type JobDocument,
  type JobLogDocument,
  type JobLogger,
  type JobLedgerSnapshot,
  type RowDestination,
} from '@cloudflow/job-store';
import { workspaceDataRoot } from '@cloudflow/engine';
import { RpcClient, TopicPublisher } from '@cloudflow/messaging';
import { traceContextToStore } from '@cloudflow/observability';
import {
  isDuplicateKeyError,
  newId,
  type WorkspaceScope,
  requireCursor,
  scopeOf,
} from '@cloudflow/persistence';
import type { JobSchedulerConfig } from '../job-scheduler.config';
import { JobPlanner } from '../execution/job-planner';
import { JobReconciler } from '../execution/job-reconciler';
import { SCHEDULER_CONFIG } from '../execution/scheduler-settings';
import { DATA_SOURCE_ACCESS, DataSourceClient, type DataSourceAccess } from '@cloudflow/connectors';
import { resolveJobSpec, type ResolvedJobSpec, type SubmissionContext } from './job-submission';
import { toJob } from './job-view';

type Row = Record<string, unknown>;

/** Clients poll status often; a running job's ledger is read at most this often per job. */
const LEDGER_READ_TTL_MS = 500;

/** Jobs as the API sees them: submit, read, list, results, cancel, re-run. */
@Injectable()
export class JobsService {
  private readonly log: JobLogger;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly ledger: TaskLedger,
    private readonly rows: RowStore,
    private readonly rpc: RpcClient,
    private readonly publisher: TopicPublisher,
    private readonly planner: JobPlanner,
    private readonly reconciler: JobReconciler,
    private readonly dataSources: DataSourceClient,
    @Inject(DATA_SOURCE_ACCESS) private readonly access: DataSourceAccess,
    @Inject(SCHEDULER_CONFIG) private readonly config: JobSchedulerConfig,
    private readonly logLines: JobLogRepository,
    jobLogs: JobLogs,
  ) {
    this.log = jobLogs.for('job-scheduler', JobsService.name);
  }

  async submit(
    principal: Principal,
    request: SubmitJobRequest,
    idempotencyKey?: string,
    now = new Date(),
  ): Promise<Job> {
    requireScope(principal, 'write');
    const scope = scopeOf(principal);
    const fingerprint = fingerprintOf(request);
    // A repeated request answers with the first job, whatever changed since (pipeline, input).
    if (idempotencyKey !== undefined) {
      const earlier = await this.jobs.findIdempotencyKey(scope, idempotencyKey);
      const existing = earlier && (await this.jobFor(scope, earlier, fingerprint));
      if (existing) return existing;
    }
    const pipeline = await this.rpc.call('pipelines.get', {
      principal,
      pipelineId: request.pipelineId,
    });
    const spec = await resolveJobSpec(await this.submission(scope), pipeline, request.input);

    let jobId = newId('job');
    if (idempotencyKey !== undefined) {
      const previous = await this.jobs.claimIdempotencyKey(scope, idempotencyKey, {
        jobId,
        fingerprint,
        createdAt: now,
      });
      if (previous) {
        const existing = await this.jobFor(scope, previous, fingerprint);
        if (existing) return existing;
        // The first request stopped between claiming the key and creating the job.
        jobId = previous.jobId;
      }
    }
    try {
      const job = await this.create(scope, jobId, pipeline.id, pipeline.version, spec, {
        timeoutSeconds: request.timeoutSeconds ?? this.config.JOB_DEFAULT_TIMEOUT_SECONDS,
        now,
      });
      return toJob(job);
    } catch (error) {
      // Two requests with one key raced to create the same job id: the other one won.
      if (!isDuplicateKeyError(error)) throw error;
      return this.get(principal, jobId);
    }
  }

  /** The job an idempotency key stands for; 409 when the key came with another body. */
  private async jobFor(
    scope: WorkspaceScope,
    key: { jobId: string; fingerprint: string },
    fingerprint: string,
  ): Promise<Job | null> {
    if (key.fingerprint !== fingerprint) {
      throw new AppError(
        ErrorCode.Conflict,
        'This Idempotency-Key was already used with a different request body; use a new key',
      );
    }
    const existing = await this.jobs.findById(scope, key.jobId);
    return existing ? toJob(existing, await this.ledger.snapshot(existing._id)) : null;
  }

  async get(principal: Principal, jobId: string): Promise<Job> {
    const job = await this.find(scopeOf(principal), jobId);
    return toJob(job, job.final ? undefined : await this.recentLedger(job._id));
  }

  async list(principal: Principal, query: ListJobsQuery): Promise<Page<Job>> {
    const scope = scopeOf(principal);
    requireCursor(query.cursor);
    const page = await this.jobs.listNewestFirst(
      scope,
      { pipelineId: query.pipelineId, status: query.status },
      { limit: query.limit, cursor: query.cursor },
    );
    const items = await Promise.all(
      page.items.map(async (job) =>
        toJob(job, job.final ? undefined : await this.recentLedger(job._id)),
      ),
    );
    return { items, nextCursor: page.nextCursor };
  }

  async results(
    principal: Principal,
    jobId: string,
    limit: number,
    cursor?: string,
  ): Promise<JobResults> {
    const scope = scopeOf(principal);
    const job = await this.find(scope, jobId);
    if (job.status !== 'SUCCEEDED') {
      throw new AppError(
        ErrorCode.Conflict,
        `Job '${jobId}' is ${job.status}; results are available once it has SUCCEEDED` +
          (job.error ? ` (error: ${job.error.message})` : ''),
      );
    }
    const progress = toJob(job).progress;
    const counts = {
      rowsRead: progress.rowsRead,
      rowsWritten: progress.rowsWritten,
      rowsRejected: progress.rowsRejected,
    };
    // Rows written outside CloudFlow (a file, a bucket, a database) are read where they went.
    if (job.output.kind !== 'collection' && job.output.kind !== 'result-store') {
      return { jobId, status: job.status, output: job.output, counts, rows: [], nextCursor: null };
    }
    const destination: RowDestination =
      job.output.kind === 'collection'
        ? { kind: 'collection', target: job.output.target }
        : { kind: 'result-store' };
    const page = await this.pageOf(scope, jobId, destination, limit, cursor);
    const rows = page.items.map((doc) =>
      destination.kind === 'result-store' ? (doc['row'] as Row) : withoutMeta(doc),
    );
    return {
      jobId,
      status: job.status,
      output: job.output,
      counts,
      rows,
      nextCursor: page.nextCursor,
    };
  }

  async rejected(
    principal: Principal,
    jobId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<{ line: number; reason: string; row?: Row }>> {
    const scope = scopeOf(principal);
    await this.find(scope, jobId);
    const page = await this.pageOf(scope, jobId, { kind: 'rejected' }, limit, cursor);
    return {
      items: page.items.map((doc) => ({
        line: doc['line'] as number,
        reason: doc['reason'] as string,
        ...(doc['row'] !== undefined && { row: doc['row'] as Row }),
      })),
      nextCursor: page.nextCursor,
    };
  }

  async cancel(principal: Principal, jobId: string): Promise<Job> {
    requireScope(principal, 'write');
    const scope = scopeOf(principal);
    const job = await this.find(scope, jobId);
    if (isTerminalStatus(job.status)) {
      throw new AppError(ErrorCode.Conflict, `Job '${jobId}' already finished as ${job.status}`);
    }
    await this.jobs.requestCancel(scope, jobId, new Date());
    this.log.info({ workspaceId: scope.workspaceId, jobId }, 'cancel requested');
    const event: JobEvent = { type: 'job.cancel-requested', workspaceId: scope.workspaceId, jobId };
    await this.publisher.publish(Topics.jobEvents, [{ key: jobId, value: event }]);
    await this.reconciler.reconcile(scope, jobId);
    return this.get(principal, jobId);
  }

  /** A page of the job's log: what the scheduler and the workers did for it, oldest first. */
  async logs(
    principal: Principal,
    jobId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<JobLogEntry>> {
    requireScope(principal, 'read');
    const scope = scopeOf(principal);
    await this.find(scope, jobId);
    requireCursor(cursor, (id) => id.startsWith(`${jobId}:`));
    const page = await this.logLines.page(scope, jobId, { limit, cursor });
    return { items: page.items.map(toLogEntry), nextCursor: page.nextCursor };
  }

  /** Runs a finished job again: same pinned pipeline version, same input, a new job. */
  async rerun(principal: Principal, jobId: string, now = new Date()): Promise<Job> {
    requireScope(principal, 'write');
    const scope = scopeOf(principal);
    const previous = await this.find(scope, jobId);
    if (!isTerminalStatus(previous.status)) {
      throw new AppError(
        ErrorCode.Conflict,
        `Job '${jobId}' is ${previous.status}; only a finished job can be re-run`,
      );
    }
    const spec = await resolveJobSpec(
      await this.submission(scope),
      {
        id: previous.pipelineId,
        name: '',
        steps: previous.steps,
        errorPolicy: previous.errorPolicy,
        version: previous.pipelineVersion,
        createdAt: '',
        updatedAt: '',
      },
      previous.input.path,
      previous.input,
    );
    const job = await this.create(
      scope,
      newId('job'),
      previous.pipelineId,
      previous.pipelineVersion,
      spec,
      { timeoutSeconds: previous.timeoutSeconds, rerunOf: previous._id, now },
    );
    return toJob(job);
  }

  private async create(
    scope: WorkspaceScope,
    jobId: string,
    pipelineId: string,
    pipelineVersion: number,
    spec: ResolvedJobSpec,
    options: { timeoutSeconds: number; rerunOf?: string; now: Date },
  ): Promise<JobDocument> {
    const { now, timeoutSeconds } = options;
    // The request's trace: planning and every task dispatch continue it, whoever does them.
    const traceContext = traceContextToStore();
    const job: JobDocument = {
      _id: jobId,
      workspaceId: scope.workspaceId,
      pipelineId,
      pipelineVersion,
      steps: spec.steps,
      errorPolicy: spec.errorPolicy,
      input: spec.input,
      output: spec.output,
      status: 'QUEUED',
      tasksTotal: null,
      planRenewedAt: now,
      cancelRequested: false,
      timeoutSeconds,
      deadlineAt: new Date(now.getTime() + timeoutSeconds * 1000),
      error: null,
      final: null,
      ...(options.rerunOf !== undefined && { rerunOf: options.rerunOf }),
      ...(traceContext && { traceContext }),
      createdAt: now,
      startedAt: null,
      finishedAt: null,
    };
    await this.jobs.insert(scope, job);
    this.log.info(
      { workspaceId: scope.workspaceId, jobId },
      options.rerunOf === undefined
        ? 'job accepted'
        : `job accepted: a re-run of ${options.rerunOf}`,
    );
    this.planner.start(job);
    return job;
  }

  private async submission(scope: WorkspaceScope): Promise<SubmissionContext> {
    return {
      workspaceId: scope.workspaceId,
      dataRoot: await workspaceDataRoot(this.config.CLOUDFLOW_DATA_DIR, scope.workspaceId),
      dataSources: this.dataSources,
      ...this.access,
    };
  }

  private readonly ledgerReads = new Map<
    string,
    { at: number; read: Promise<JobLedgerSnapshot> }
  >();

  /** The job's ledger as of at most LEDGER_READ_TTL_MS ago (the job was found in scope first). */
  private recentLedger(jobId: string): Promise<JobLedgerSnapshot> {
    const now = Date.now();
    const cached = this.ledgerReads.get(jobId);
    if (cached && now - cached.at < LEDGER_READ_TTL_MS) return cached.read;
    if (this.ledgerReads.size > 1000) this.ledgerReads.clear();
    const read = this.ledger.snapshot(jobId);
    this.ledgerReads.set(jobId, { at: now, read });
    read.catch(() => this.ledgerReads.delete(jobId));
    return read;
  }

  private async find(scope: WorkspaceScope, jobId: string): Promise<JobDocument> {
    const job = await this.jobs.findById(scope, jobId);
    if (!job) throw AppError.notFound('Job', jobId);
    return job;
  }

  private pageOf(
    scope: WorkspaceScope,
    jobId: string,
    destination: RowDestination,
    limit: number,
    cursor?: string,
  ) {
    requireCursor(cursor, (id) => id.startsWith(`${jobId}:`));
    return this.rows.page(scope, jobId, destination, { limit, cursor });
  }
}

function fingerprintOf(request: SubmitJobRequest): string {
  const canonical = JSON.stringify([
    request.pipelineId,
    request.input ?? null,
    request.timeoutSeconds ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function toLogEntry(line: JobLogDocument): JobLogEntry {
  const { _id, workspaceId, jobId, time, ...entry } = line;
  void _id;
  void workspaceId;
  void jobId;
  return { time: new Date(time).toISOString(), ...entry } as JobLogEntry;
}

function withoutMeta(doc: Row): Row {
  const { _id, _job, ...row } = doc;
  void _id;
  void _job;
  return row;
}
