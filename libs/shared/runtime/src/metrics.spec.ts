import Fastify, { type FastifyInstance } from 'fastify';
import type { Counter, Histogram } from 'prom-client';
import {
  ScrapedGauge,
  UNMATCHED_ROUTE,
  WORKER_METRICS,
  cachedFor,
  exposeMetrics,
  httpRequestDurationSeconds,
  httpRequestsTotal,
  instrumentHttp,
  jobStateSamples,
  metricsRegistry,
  recordTaskCommitted,
  recordTaskFinished,
  recordTaskRetried,
  routeLabel,
  rowsProcessedTotal,
  startProcessMetrics,
  taskDurationSeconds,
  taskLeaseExpiriesTotal,
  tasksFinishedTotal,
  tasksRetriedTotal,
  bytesProcessedTotal,
} from './metrics';

/** The value of one series of a counter (0 when it has none yet). */
async function valueOf(metric: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const match = values.find((v) =>
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return match?.value ?? 0;
}

/** How many observations one series of a histogram holds. */
async function countOf(metric: Histogram, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  const match = values.find(
    (v) =>
      (v as { metricName?: string }).metricName?.endsWith('_count') &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return match?.value ?? 0;
}

/** Every series of the HTTP counter, as `METHOD route status` lines. */
async function httpSeries(service: string): Promise<string[]> {
  const { values } = await httpRequestsTotal.get();
  return values
    .filter((v) => v.labels['service'] === service)
    .map((v) => `${v.labels['method']} ${v.labels['route']} ${v.labels['status']} = ${v.value}`)
    .sort();
}

describe('HTTP metrics', () => {
  let app: FastifyInstance;
  const service = `http-spec-${process.pid}`;

  beforeAll(async () => {
    app = Fastify();
    instrumentHttp(app, service);
    app.get('/api/v1/jobs/:jobId', async () => ({ ok: true }));
    app.get('/api/v1/jobs/:jobId/results', async (_request, reply) => reply.status(404).send({}));
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/metrics', async () => 'scrape');
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  it('labels requests with the route pattern, never the ids or query they asked for', async () => {
    await app.inject({ method: 'GET', url: '/api/v1/jobs/job_1' });
    await app.inject({ method: 'GET', url: '/api/v1/jobs/job_2?verbose=true' });
    await app.inject({ method: 'GET', url: '/api/v1/jobs/job_3/results' });

    const series = await httpSeries(service);
    expect(series).toEqual([
      'GET /api/v1/jobs/:jobId 200 = 2',
      'GET /api/v1/jobs/:jobId/results 404 = 1',
    ]);
    expect(series.join('\n')).not.toMatch(/job_\d|verbose/);
  });

  it('puts requests no route matched under one "unmatched" route, whatever their URL', async () => {
    for (const url of ['/nope', '/api/v1/unknown/abc', `/x${'y'.repeat(300)}`]) {
      await app.inject({ method: 'GET', url });
    }
    await app.inject({ method: 'DELETE', url: '/healthz' });
    const unmatched = (await httpSeries(service)).filter((s) => s.includes(UNMATCHED_ROUTE));
    expect(unmatched).toEqual(['DELETE unmatched 404 = 1', 'GET unmatched 404 = 3']);
  });

  it('counts health probes but not the scrape itself', async () => {
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/metrics' });
    const series = await httpSeries(service);
    expect(series).toContain('GET /healthz 200 = 1');
    expect(series.some((s) => s.includes('/metrics'))).toBe(false);
  });

  it('times each answer under the same route pattern', async () => {
    const before = await countOf(httpRequestDurationSeconds, {
      service,
      route: '/api/v1/jobs/:jobId',
    });
    await app.inject({ method: 'GET', url: '/api/v1/jobs/job_9' });
    expect(
      await countOf(httpRequestDurationSeconds, { service, route: '/api/v1/jobs/:jobId' }),
    ).toBe(before + 1);
  });

  it('routeLabel falls back to "unmatched" when the request matched no route', () => {
    expect(routeLabel({ routeOptions: { url: '/api/v1/pipelines/:id' } } as never)).toBe(
      '/api/v1/pipelines/:id',
    );
    expect(routeLabel({ routeOptions: { url: undefined } } as never)).toBe(UNMATCHED_ROUTE);
    expect(routeLabel({ routeOptions: undefined } as never)).toBe(UNMATCHED_ROUTE);
  });
});

describe('task metrics', () => {
  it('counts each outcome on its own series and times it', async () => {
    const before = {
      committed: await valueOf(tasksFinishedTotal, { outcome: 'committed' }),
      skipped: await valueOf(tasksFinishedTotal, { outcome: 'skipped' }),
      failed: await valueOf(tasksFinishedTotal, { outcome: 'failed' }),
      timedCommitted: await countOf(taskDurationSeconds, { outcome: 'committed' }),
    };
    recordTaskFinished('committed', 1.5);
    recordTaskFinished('committed', 0.2);
    recordTaskFinished('skipped', 0.001);

    expect(await valueOf(tasksFinishedTotal, { outcome: 'committed' })).toBe(before.committed + 2);
    expect(await valueOf(tasksFinishedTotal, { outcome: 'skipped' })).toBe(before.skipped + 1);
    expect(await valueOf(tasksFinishedTotal, { outcome: 'failed' })).toBe(before.failed);
    expect(await countOf(taskDurationSeconds, { outcome: 'committed' })).toBe(
      before.timedCommitted + 2,
    );
  });

  it('adds a committed range task’s rows and input bytes', async () => {
    const read = await valueOf(rowsProcessedTotal, { kind: 'read' });
    const written = await valueOf(rowsProcessedTotal, { kind: 'written' });
    const rejected = await valueOf(rowsProcessedTotal, { kind: 'rejected' });
    const bytesRead = await valueOf(bytesProcessedTotal, { direction: 'read' });
    const bytesWritten = await valueOf(bytesProcessedTotal, { direction: 'written' });

    recordTaskCommitted('range', { rowsRead: 5, rowsWritten: 4, rowsRejected: 1, bytesRead: 120 });

    expect(await valueOf(rowsProcessedTotal, { kind: 'read' })).toBe(read + 5);
    expect(await valueOf(rowsProcessedTotal, { kind: 'written' })).toBe(written + 4);
    expect(await valueOf(rowsProcessedTotal, { kind: 'rejected' })).toBe(rejected + 1);
    expect(await valueOf(bytesProcessedTotal, { direction: 'read' })).toBe(bytesRead + 120);
    expect(await valueOf(bytesProcessedTotal, { direction: 'written' })).toBe(bytesWritten);
  });

  it('counts a finalize task’s assembled output as bytes written, and no rows', async () => {
    const read = await valueOf(rowsProcessedTotal, { kind: 'read' });
    const bytesRead = await valueOf(bytesProcessedTotal, { direction: 'read' });
    const bytesWritten = await valueOf(bytesProcessedTotal, { direction: 'written' });

    // A finalize task reports the bytes it assembled in bytesRead.
    recordTaskCommitted('finalize', {
      rowsRead: 0,
      rowsWritten: 0,
      rowsRejected: 0,
      bytesRead: 77,
    });

    expect(await valueOf(rowsProcessedTotal, { kind: 'read' })).toBe(read);
    expect(await valueOf(bytesProcessedTotal, { direction: 'read' })).toBe(bytesRead);
    expect(await valueOf(bytesProcessedTotal, { direction: 'written' })).toBe(bytesWritten + 77);
  });

  it('counts every retry, and lease expiries among them', async () => {
    const retried = await valueOf(tasksRetriedTotal);
    const expired = await valueOf(taskLeaseExpiriesTotal);
    recordTaskRetried('failure');
    recordTaskRetried('lease-expired');
    expect(await valueOf(tasksRetriedTotal)).toBe(retried + 2);
    expect(await valueOf(taskLeaseExpiriesTotal)).toBe(expired + 1);
  });
});

describe('the process registry', () => {
  it('exposes a metric once however many services of the process expose it', async () => {
    exposeMetrics(...WORKER_METRICS);
    exposeMetrics(...WORKER_METRICS);
    startProcessMetrics();
    startProcessMetrics();
    const text = await metricsRegistry.metrics();
    expect(text.match(/^# TYPE cloudflow_tasks_finished_total counter$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE process_cpu_user_seconds_total counter$/gm)).toHaveLength(1);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // Every outcome shows from the start, so a rate over it exists before the first failure.
    for (const outcome of ['committed', 'failed', 'stopped', 'skipped']) {
      expect(text).toContain(`cloudflow_tasks_finished_total{outcome="${outcome}"}`);
    }
    expect(metricsRegistry.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('ScrapedGauge', () => {
  let seq = 0;
  const gauge = () => {
    const name = `cloudflow_spec_gauge_${++seq}`;
    const g = new ScrapedGauge<'state'>({
      name,
      help: 'a gauge read at scrape time',
      labelNames: ['state'],
    });
    return { name, provide: g.provide.bind(g) };
  };

  it('shows what its source answers at scrape time, and nothing once the source is removed', async () => {
    const g = gauge();
    let running = 2;
    const remove = g.provide(async () => [{ labels: { state: 'RUNNING' }, value: running }]);
    expect(await metricsRegistry.metrics()).toContain(`${g.name}{state="RUNNING"} 2`);
    running = 3;
    expect(await metricsRegistry.metrics()).toContain(`${g.name}{state="RUNNING"} 3`);
    remove();
    expect(await metricsRegistry.metrics()).not.toContain(`${g.name}{`);
  });

  it('leaves the series out of a scrape whose source fails, and keeps the scrape', async () => {
    const g = gauge();
    let fail = false;
    g.provide(async () => {
      if (fail) throw new Error('store unreachable');
      return [{ labels: { state: 'QUEUED' }, value: 1 }];
    });
    expect(await metricsRegistry.metrics()).toContain(`${g.name}{state="QUEUED"} 1`);
    fail = true;
    const text = await metricsRegistry.metrics();
    expect(text).not.toContain(`${g.name}{state="QUEUED"}`);
    expect(text).toContain('cloudflow_tasks_finished_total');
  });

  it('jobStateSamples names every state, 0 included', () => {
    expect(jobStateSamples({ SUCCEEDED: 3, RUNNING: 1 })).toEqual([
      { labels: { state: 'QUEUED' }, value: 0 },
      { labels: { state: 'RUNNING' }, value: 1 },
      { labels: { state: 'SUCCEEDED' }, value: 3 },
      { labels: { state: 'FAILED' }, value: 0 },
      { labels: { state: 'CANCELLING' }, value: 0 },
      { labels: { state: 'CANCELLED' }, value: 0 },
    ]);
  });
});

describe('cachedFor', () => {
  it('asks once per ttl, sharing the answer and the call in flight', async () => {
    let clock = 0;
    let calls = 0;
    const read = cachedFor(
      5_000,
      async () => {
        calls++;
        return calls;
      },
      () => clock,
    );
    const [a, b] = await Promise.all([read(), read()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    clock = 4_999;
    expect(await read()).toBe(1);
    clock = 5_000;
    expect(await read()).toBe(2);
    expect(calls).toBe(2);
  });

  it('does not keep a failure: the next call asks again', async () => {
    let calls = 0;
    const read = cachedFor(60_000, async () => {
      calls++;
      if (calls === 1) throw new Error('down');
      return 'up';
    });
    await expect(read()).rejects.toThrow('down');
    await Promise.resolve();
    expect(await read()).toBe('up');
    expect(await read()).toBe('up');
    expect(calls).toBe(2);
  });
});
