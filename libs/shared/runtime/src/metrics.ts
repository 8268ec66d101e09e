import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type GaugeConfiguration,
} from 'prom-client';
import type { Provider } from '@nestjs/common';
import { JOB_STATUSES, type JobStatus, type TaskCounts } from '@cloudflow/contracts';

/**
 * CloudFlow's Prometheus metrics. Every metric is defined once, here, at
 * module scope, and registered in the process's one registry by the services
 * that record it: a process of its own exposes its service's metrics, a
 * standalone process (all services in one) exposes them all, each once.
 */
export const metricsRegistry = new Registry();

/** Registers metrics in the process registry; registering one twice is a no-op. */
export function exposeMetrics(...metrics: (Counter | Gauge | Histogram)[]): void {
  for (const metric of metrics) metricsRegistry.registerMetric(metric);
}

/** A provider that exposes the given metrics when its module is instantiated. */
export function metricsProvider(...metrics: (Counter | Gauge | Histogram)[]): Provider {
  return {
    provide: Symbol('cloudflow.metrics'),
    useFactory: () => {
      exposeMetrics(...metrics);
      return metrics;
    },
  };
}

let processMetricsStarted = false;

/**
 * prom-client's process metrics (CPU, memory, heap, event-loop lag, GC),
 * once per process. A process running one service labels every series with
 * it; a standalone process has no such label (it is every service).
 */
export function startProcessMetrics(service?: string): void {
  if (service) metricsRegistry.setDefaultLabels({ service });
  if (processMetricsStarted) return;
  processMetricsStarted = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

// HTTP ----------------------------------------------------------------------

/** The route label of a request no route matched (404s, malformed URLs). */
export const UNMATCHED_ROUTE = 'unmatched';
/** Not measured: the scrape itself. Health probes are, so a red /readyz shows. */
const UNMEASURED_ROUTES = new Set(['/metrics']);

export const httpRequestsTotal = new Counter({
  name: 'cloudflow_http_requests_total',
  help: 'HTTP requests answered, by service, method, route pattern and status code',
  labelNames: ['service', 'method', 'route', 'status'] as const,
  registers: [],
});

export const httpRequestDurationSeconds = new Histogram({
  name: 'cloudflow_http_request_duration_seconds',
  help: 'Time from receiving an HTTP request to answering it, by service, method and route pattern',
  labelNames: ['service', 'method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [],
});

/**
 * The route pattern a request matched (`/api/v1/jobs/:jobId`), never the
 * URL it asked for: ids and query strings would make a series per request.
 */
export function routeLabel(request: Pick<FastifyRequest, 'routeOptions'>): string {
  return request.routeOptions?.url || UNMATCHED_ROUTE;
}

/** Counts and times every answer of this HTTP server, as `service`. */
export function instrumentHttp(fastify: FastifyInstance, service: string): void {
  exposeMetrics(httpRequestsTotal, httpRequestDurationSeconds);
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = routeLabel(request);
    if (!UNMEASURED_ROUTES.has(route)) {
      const method = request.method;
      httpRequestsTotal.inc({ service, method, route, status: String(reply.statusCode) });
      httpRequestDurationSeconds.observe({ service, method, route }, reply.elapsedTime / 1000);
    }
    done();
  });
}

// Tasks (worker) --------------------------------------------------------------

export const TASK_OUTCOMES = ['committed', 'failed', 'stopped', 'skipped'] as const;
/** How a worker finished with a task message: as TaskRunner answers it. */
export type TaskOutcomeLabel = (typeof TASK_OUTCOMES)[number];

export const tasksStartedTotal = new Counter({
  name: 'cloudflow_tasks_started_total',
  help: 'Task attempts a worker claimed and started running',
  registers: [],
});

export const tasksFinishedTotal = new Counter({
  name: 'cloudflow_tasks_finished_total',
  help: 'Task messages a worker finished with, by outcome (committed, failed, stopped, skipped)',
  labelNames: ['outcome'] as const,
  registers: [],
});

export const taskDurationSeconds = new Histogram({
  name: 'cloudflow_task_duration_seconds',
  help: 'Time a worker spent on one task attempt, from claiming it to its outcome, by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  registers: [],
});

export const rowsProcessedTotal = new Counter({
  name: 'cloudflow_rows_processed_total',
  help: 'Rows of committed tasks, by kind: read from the input, written to the output, rejected',
  labelNames: ['kind'] as const,
  registers: [],
});

export const bytesProcessedTotal = new Counter({
  name: 'cloudflow_bytes_processed_total',
  help: 'Bytes of committed tasks: input read by range tasks, file and object outputs assembled',
  labelNames: ['direction'] as const,
  registers: [],
});

/** What a worker records; exposed by the worker service. */
export const WORKER_METRICS = [
  tasksStartedTotal,
  tasksFinishedTotal,
  taskDurationSeconds,
  rowsProcessedTotal,
  bytesProcessedTotal,
];

// Every known label value shows from the start (at 0), so rates and alerts see the series.
for (const outcome of TASK_OUTCOMES) tasksFinishedTotal.inc({ outcome }, 0);
for (const kind of ['read', 'written', 'rejected']) rowsProcessedTotal.inc({ kind }, 0);
for (const direction of ['read', 'written']) bytesProcessedTotal.inc({ direction }, 0);

/** A task attempt started running (after its claim, once its job was seen running). */
export function recordTaskStarted(): void {
  tasksStartedTotal.inc();
}

/** A worker is done with a task message: its outcome, and how long it took. */
export function recordTaskFinished(outcome: TaskOutcomeLabel, seconds: number): void {
  tasksFinishedTotal.inc({ outcome });
  taskDurationSeconds.observe({ outcome }, seconds);
}

/**
 * The counts of a task that committed, so each row is counted once however
 * often its task ran. A range task reports the rows and input bytes it read;
 * a finalize task reads no rows and reports the bytes of the output it
 * assembled (in `bytesRead`), which are the job's bytes written.
 */
export function recordTaskCommitted(kind: 'range' | 'finalize', counts: TaskCounts): void {
  if (kind === 'finalize') {
    bytesProcessedTotal.inc({ direction: 'written' }, counts.bytesRead);
    return;
  }
  rowsProcessedTotal.inc({ kind: 'read' }, counts.rowsRead);
  rowsProcessedTotal.inc({ kind: 'written' }, counts.rowsWritten);
  rowsProcessedTotal.inc({ kind: 'rejected' }, counts.rowsRejected);
  bytesProcessedTotal.inc({ direction: 'read' }, counts.bytesRead);
}

// Scheduling (job-scheduler) --------------------------------------------------

export const tasksRetriedTotal = new Counter({
  name: 'cloudflow_tasks_retried_total',
  help: 'Task attempts the scheduler dispatched again after a failed attempt or an expired lease',
  registers: [],
});

export const taskLeaseExpiriesTotal = new Counter({
  name: 'cloudflow_task_lease_expiries_total',
  help: 'Task attempts whose lease expired (a dead or hung worker) and that were dispatched again',
  registers: [],
});

/** Why the scheduler dispatches another attempt of a task. */
export type RetryCause = 'failure' | 'lease-expired';

/** The scheduler dispatched attempt N > 1 of a task. */
export function recordTaskRetried(cause: RetryCause): void {
  tasksRetriedTotal.inc();
  if (cause === 'lease-expired') taskLeaseExpiriesTotal.inc();
}

/**
 * A gauge whose values are read at scrape time from a source a service
 * provides (the job-scheduler: job counts, consumer lag). Without a source,
 * or when it fails, the scrape shows no series: no number beats a stale one.
 */
export class ScrapedGauge<L extends string> {
  readonly metric: Gauge<L>;
  private source?: () => Promise<{ labels: Record<L, string>; value: number }[]>;

  constructor(config: Omit<GaugeConfiguration<L>, 'collect' | 'registers'>) {
    this.metric = new Gauge<L>({ ...config, registers: [], collect: () => this.refresh() });
  }

  /** Sets the source and exposes the gauge; the answer removes the source again. */
  provide(source: () => Promise<{ labels: Record<L, string>; value: number }[]>): () => void {
    this.source = source;
    exposeMetrics(this.metric as Gauge);
    return () => {
      if (this.source === source) this.source = undefined;
    };
  }

  private async refresh(): Promise<void> {
    const source = this.source;
    let samples: { labels: Record<L, string>; value: number }[] = [];
    try {
      samples = source ? await source() : [];
    } catch {
      // The source reports its own failures; this scrape goes without the series.
    }
    this.metric.reset();
    for (const { labels, value } of samples) this.metric.set(labels as never, value);
  }
}

export const jobsByState = new ScrapedGauge<'state'>({
  name: 'cloudflow_jobs',
  help: 'Jobs of the whole installation (every workspace) by state, counted in the store',
  labelNames: ['state'],
});

export const kafkaConsumerLag = new ScrapedGauge<'group' | 'topic'>({
  name: 'cloudflow_kafka_consumer_lag',
  help: 'Messages of a topic its consumer group has not yet committed (or, on the in-process bus of standalone mode, not yet handled), summed over partitions',
  labelNames: ['group', 'topic'],
});

/** Job counts as the cloudflow_jobs gauge takes them: every state, 0 included. */
export function jobStateSamples(
  counts: Partial<Record<JobStatus, number>>,
): { labels: { state: string }; value: number }[] {
  return JOB_STATUSES.map((state) => ({ labels: { state }, value: counts[state] ?? 0 }));
}

/**
 * `load`, called at most once per `ttlMs`: later callers within that time
 * share its answer (or its call in flight). A failure is not kept, so the
 * next caller tries again.
 */
export function cachedFor<T>(
  ttlMs: number,
  load: () => Promise<T>,
  now: () => number = Date.now,
): () => Promise<T> {
  let cached: { value: Promise<T>; until: number } | undefined;
  return () => {
    if (cached && now() < cached.until) return cached.value;
    const entry = { value: load(), until: Number.POSITIVE_INFINITY };
    cached = entry;
    entry.value.then(
      () => {
        entry.until = now() + ttlMs;
      },
      () => {
        if (cached === entry) cached = undefined;
      },
    );
    return entry.value;
  };
}
