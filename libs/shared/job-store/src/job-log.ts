import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  JobLogRepository,
  jobLogId,
  type JobLogDocument,
  type JobLogFields,
  type JobLogLevel,
  type JobLogService,
} from './job-log.repository';

/** Which job, and which task attempt on which worker, a line is about. */
export interface JobLogContext {
  workspaceId: string;
  jobId: string;
  taskId?: string;
  attempt?: number;
  workerId?: string;
}

export interface JobLogLimits {
  /**
   * Lines kept per task attempt (and per job for lines about no task); the
   * rest are counted and reported in one last line when the attempt settles.
   */
  maxLinesPerAttempt: number;
  /** Lines written in one insert; a batch this full is written at once. */
  batchLines: number;
  /** A line waits at most this long for others to share its insert. */
  flushDelayMs: number;
  /** Lines waiting beyond this many (the store is down) are dropped. */
  maxQueuedLines: number;
  /** Attempts whose line counts are remembered; the oldest is settled beyond this. */
  maxTrackedAttempts: number;
}

export const DEFAULT_JOB_LOG_LIMITS: JobLogLimits = {
  maxLinesPerAttempt: 200,
  batchLines: 100,
  flushDelayMs: 250,
  maxQueuedLines: 10_000,
  maxTrackedAttempts: 10_000,
};

const MAX_MESSAGE_CHARS = 500;
const MAX_REASON_CHARS = 2_000;
const NUMBER_FIELDS = [
  'tasks',
  'rowsRead',
  'rowsWritten',
  'rowsRejected',
  'durationMs',
  'omitted',
] as const;

interface Tracked {
  service: JobLogService;
  context: JobLogContext;
  kept: number;
  omitted: number;
}

/** Where the monotonic clock's zero lies on the wall clock, in ms since the epoch. */
let clockAnchor = performance.timeOrigin;

/**
 * Microseconds since the epoch: the monotonic clock's precision (lines of
 * one moment order alike in every process of a machine), kept on the wall
 * clock (re-anchored when that is stepped, or the machine slept).
 */
function nowMicros(): number {
  const monotonic = performance.now();
  const wall = Date.now();
  if (Math.abs(clockAnchor + monotonic - wall) > 2) clockAnchor = wall - monotonic;
  return Math.floor((clockAnchor + monotonic) * 1000);
}

/**
 * Queues job log lines and writes them in batches. Each line's `_id` orders
 * it: the time in microseconds (strictly increasing within a writer, from
 * the monotonic clock) and the writer's own random name (unique across the
 * scheduler and workers). Bounded: at most `maxLinesPerAttempt` lines per task
 * attempt, then one line saying how many were left out; at most
 * `maxQueuedLines` waiting. Never throws: a line the store refuses is lost
 * and reported through `onLost`, and the work it describes goes on.
 */
export class JobLogWriter {
  private readonly limits: JobLogLimits;
  private readonly writer = randomBytes(4).toString('hex');
  private readonly tracked = new Map<string, Tracked>();
  private queue: JobLogDocument[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private lastMicros = 0;

  constructor(
    private readonly store: (lines: JobLogDocument[]) => Promise<void>,
    private readonly onLost: (lines: number, error?: unknown) => void = () => undefined,
    limits: Partial<JobLogLimits> = {},
    private readonly clock: () => number = nowMicros,
  ) {
    this.limits = { ...DEFAULT_JOB_LOG_LIMITS, ...limits };
  }

  /** Queues a line; false when the attempt's bound left it out. */
  append(
    service: JobLogService,
    level: JobLogLevel,
    context: JobLogContext,
    message: string,
    fields: JobLogFields = {},
  ): boolean {
    const key = attemptKey(context);
    let tracked = this.tracked.get(key);
    if (!tracked) {
      if (this.tracked.size >= this.limits.maxTrackedAttempts) this.settleOldest();
      tracked = { service, context, kept: 0, omitted: 0 };
      this.tracked.set(key, tracked);
    }
    if (tracked.kept >= this.limits.maxLinesPerAttempt) {
      tracked.omitted++;
      return false;
    }
    tracked.kept++;
    this.enqueue(this.line(service, level, context, message, fields));
    return true;
  }

  /**
   * The attempt (or, without a task, the whole job) is over: says how many
   * lines its bound left out, if any, and forgets its counts.
   */
  settle(context: JobLogContext): void {
    if (context.taskId !== undefined) {
      this.settleKey(attemptKey(context));
      return;
    }
    const prefix = `${context.jobId}|`;
    for (const key of [...this.tracked.keys()]) {
      if (key.startsWith(prefix)) this.settleKey(key);
    }
  }

  /** Writes every queued line; settles once they are stored or given up. Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.limits.batchLines);
        try {
          await this.store(batch);
        } catch (error) {
          this.lose(batch.length, error);
        }
      }
    });
    return this.writing;
  }

  private settleOldest(): void {
    const oldest = this.tracked.keys().next();
    if (!oldest.done) this.settleKey(oldest.value);
  }

  private settleKey(key: string): void {
    const tracked = this.tracked.get(key);
    if (!tracked) return;
    this.tracked.delete(key);
    if (tracked.omitted === 0) return;
    const per = tracked.context.taskId === undefined ? 'per job' : 'per task attempt';
    this.enqueue(
      this.line(
        tracked.service,
        'warn',
        tracked.context,
        `… ${tracked.omitted} lines omitted (at most ${this.limits.maxLinesPerAttempt} are kept ${per})`,
        { omitted: tracked.omitted },
      ),
    );
  }

  private enqueue(line: JobLogDocument): void {
    if (this.queue.length >= this.limits.maxQueuedLines) {
      this.lose(1);
      return;
    }
    this.queue.push(line);
    if (this.queue.length >= this.limits.batchLines) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.limits.flushDelayMs);
      this.timer.unref();
    }
  }

  private lose(lines: number, error?: unknown): void {
    try {
      this.onLost(lines, error);
    } catch {
      // Reporting a loss must not fail the work either.
    }
  }

  private line(
    service: JobLogService,
    level: JobLogLevel,
    context: JobLogContext,
    message: string,
    fields: JobLogFields,
  ): JobLogDocument {
    const micros = Math.max(this.clock(), this.lastMicros + 1);
    this.lastMicros = micros;
    return {
      _id: jobLogId(context.jobId, micros, this.writer),
      workspaceId: context.workspaceId,
      jobId: context.jobId,
      time: new Date(Math.floor(micros / 1000)),
      level,
      service,
      message: message.slice(0, MAX_MESSAGE_CHARS),
      ...(context.taskId !== undefined && { taskId: context.taskId }),
      ...(context.attempt !== undefined && { attempt: context.attempt }),
      ...(context.workerId !== undefined && { workerId: context.workerId }),
      ...storedFields(fields),
    };
  }
}

function attemptKey(context: JobLogContext): string {
  return `${context.jobId}|${context.taskId ?? ''}|${context.attempt ?? ''}`;
}

/** Only the known fields, of the right type; reasons with any credentials masked. */
function storedFields(fields: JobLogFields): JobLogFields {
  const stored: JobLogFields = {};
  for (const name of NUMBER_FIELDS) {
    const value = fields[name];
    if (typeof value === 'number' && Number.isFinite(value)) stored[name] = Math.round(value);
  }
  if (typeof fields.status === 'string') stored.status = fields.status.slice(0, 40);
  if (typeof fields.reason === 'string') {
    stored.reason = maskCredentials(fields.reason).slice(0, MAX_REASON_CHARS);
  }
  return stored;
}

/** Names of fields whose values are credentials, also inside longer names (`PGPASSWORD`, `aws_secret_access_key`). */
const SECRET_NAME =
  /([A-Za-z0-9_-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential|signature)[A-Za-z0-9_-]*)(["']?\s*[=:]\s*["']?)[^\s;,&"']+/gi;

/**
 * Masks what looks like a credential in free text (an error message may
 * quote a connection string or a request): `scheme://user:secret@host` (a
 * secret may itself contain `@`), `Password=secret`, `"password": "secret"`,
 * `PGPASSWORD=secret`, `X-Amz-Signature=...`, `Bearer token`.
 */
export function maskCredentials(text: string): string {
  return text
    .replace(/(\/\/[^\s/:@]*:)[^\s/]*@/g, '$1****@')
    .replace(SECRET_NAME, '$1$2****')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ****');
}

/**
 * The job log of one component of a service: each call writes the process
 * log line (through Nest's logger, so it carries the component's name and,
 * where a span is active, the trace) and queues the same event for the
 * job's own log, which users read at `GET /api/v1/jobs/{id}/logs`.
 */
export class JobLogger {
  constructor(
    private readonly writer: JobLogWriter,
    private readonly service: JobLogService,
    private readonly logger: Logger,
  ) {}

  info(context: JobLogContext, message: string, fields?: JobLogFields): void {
    this.write('info', context, message, fields);
  }

  warn(context: JobLogContext, message: string, fields?: JobLogFields, error?: unknown): void {
    this.write('warn', context, message, fields, error);
  }

  error(context: JobLogContext, message: string, fields?: JobLogFields, error?: unknown): void {
    this.write('error', context, message, fields, error);
  }

  /** See JobLogWriter.settle. */
  settle(context: JobLogContext): void {
    this.writer.settle(context);
  }

  /** Writes what is queued; never rejects. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private write(
    level: JobLogLevel,
    context: JobLogContext,
    message: string,
    fields: JobLogFields = {},
    error?: unknown,
  ): void {
    // Masked once, for both the process log and the job's log.
    if (typeof fields.reason === 'string')
      fields = { ...fields, reason: maskCredentials(fields.reason) };
    const line = {
      jobId: context.jobId,
      ...(context.taskId !== undefined && { taskId: context.taskId }),
      ...(context.attempt !== undefined && { attempt: context.attempt }),
      ...(context.workerId !== undefined && { workerId: context.workerId }),
      ...fields,
      ...(error !== undefined && { err: error }),
    };
    if (level === 'info') this.logger.log(line, message);
    else if (level === 'warn') this.logger.warn(line, message);
    else this.logger.error(line, message);
    try {
      this.writer.append(this.service, level, context, message, fields);
    } catch {
      // The job log is a record of the work, never a reason for it to fail.
    }
  }
}

const LOSS_REPORT_INTERVAL_MS = 60_000;

/** The job log of a scheduler or worker process: one batching writer, a logger per component. */
@Injectable()
export class JobLogs implements OnApplicationShutdown {
  private readonly logger = new Logger(JobLogs.name);
  private readonly writer: JobLogWriter;
  private lost = 0;
  private reportedAt = 0;

  constructor(repository: JobLogRepository) {
    this.writer = new JobLogWriter(
      (lines) => repository.insert(lines),
      (lines, error) => this.reportLost(lines, error),
    );
  }

  /** The logger of component `context` (a class name, as in the process logs) of `service`. */
  for(service: JobLogService, context: string): JobLogger {
    return new JobLogger(this.writer, service, new Logger(context));
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writer.flush();
  }

  private reportLost(lines: number, error?: unknown): void {
    this.lost += lines;
    const now = Date.now();
    if (now - this.reportedAt < LOSS_REPORT_INTERVAL_MS) return;
    this.reportedAt = now;
    this.logger.warn(
      { lines: this.lost, err: error },
      'job log lines were not stored (the work goes on)',
    );
    this.lost = 0;
  }
}
