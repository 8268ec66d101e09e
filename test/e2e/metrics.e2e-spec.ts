import type { Job } from '@cloudflow/contracts';
import { SPEC_CREATE_PIPELINE_BODY, SERVICE_NAMES, type ServiceProcess } from '@cloudflow/testing';
import { Stack, STACK_MODE, eventually } from './support/stack';
import { FAKE_CSV, createPipeline, submitJob, waitForJob } from './support/jobs';

/** One sample of the text exposition format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

interface Scrape {
  status: number;
  contentType: string;
  text: string;
  samples: Sample[];
}

async function scrape(service: ServiceProcess): Promise<Scrape> {
  const res = await fetch(`${service.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    text,
    samples: res.status === 200 ? parseExposition(text) : [],
  };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match`);
  return found[0]?.value;
}

/** Scrapes until `ready` holds (the scheduler caches its figures a few seconds), then once more. */
async function scrapeWhen(
  service: ServiceProcess,
  ready: (samples: Sample[]) => boolean,
): Promise<Sample[]> {
  await eventually(async () => ready((await scrape(service)).samples), 20_000).catch(
    () => undefined,
  );
  return (await scrape(service)).samples;
}

describe(`Prometheus metrics (${STACK_MODE})`, () => {
  let stack: Stack;
  const jobs: Job[] = [];
  const OUTPUT = 'out/metrics-upper.csv';

  beforeAll(async () => {
    stack = await Stack.start();
    stack.writeData('fake/data.csv', FAKE_CSV);
    // The published example (into db://fake-database), then the same input into a file.
    const example = await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY);
    const toFile = await createPipeline(stack.api(), {
      name: 'metrics-to-file',
      steps: [
        { type: 'source', config: { path: '/fake/data.csv' } },
        { type: 'transform', config: { operation: 'uppercase', fields: ['name'] } },
        { type: 'sink', config: { path: `/${OUTPUT}` } },
      ],
    });
    for (const pipeline of [example, toFile]) {
      const submitted = await submitJob(stack.api(), { pipelineId: pipeline.id });
      jobs.push(await waitForJob(stack.api(), submitted.jobId));
    }
    expect(jobs.map((j) => j.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers GET /metrics on every service port in the text format, without a credential', async () => {
    const services = STACK_MODE === 'distributed' ? SERVICE_NAMES : (['gateway'] as const);
    for (const name of services) {
      const res = await scrape(stack.service(name));
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8/);
      // Each metric is described once, also when one process runs every service.
      const types = res.text.split('\n').filter((l) => l.startsWith('# TYPE '));
      expect(new Set(types).size).toBe(types.length);
      // Process metrics, labelled with the service where the process runs one.
      const processLabels: Record<string, string> =
        STACK_MODE === 'distributed' ? { service: name } : {};
      expect(valueOf(res.samples, 'process_cpu_user_seconds_total', processLabels)).toEqual(
        expect.any(Number),
      );
      expect(
        res.samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds' && s.value >= 0),
      ).toBe(true);
      // Its HTTP series: at least the readiness probes the harness sent it.
      expect(
        valueOf(res.samples, 'cloudflow_http_requests_total', {
          service: name,
          method: 'GET',
          route: '/readyz',
          status: '200',
        }),
      ).toBeGreaterThan(0);
    }
  });

  it("shows the gateway's API traffic by route pattern and status, never by raw URL", async () => {
    const [job] = jobs;
    const missing = await stack.api().get('/api/v1/jobs/job_00000000-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    const unknown = await stack.api().get('/api/v1/no-such-thing/abc');
    expect(unknown.status).toBe(404);

    const res = await scrape(stack.gateway);
    const gateway = { service: 'gateway', method: 'GET' };
    // waitForJob polled the status route until the jobs finished.
    expect(
      valueOf(res.samples, 'cloudflow_http_requests_total', {
        ...gateway,
        route: '/api/v1/jobs/:jobId/status',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      valueOf(res.samples, 'cloudflow_http_requests_total', {
        ...gateway,
        route: '/api/v1/jobs/:jobId',
        status: '404',
      }),
    ).toBe(1);
    expect(
      valueOf(res.samples, 'cloudflow_http_requests_total', {
        service: 'gateway',
        method: 'POST',
        route: '/api/v1/jobs',
        status: '202',
      }),
    ).toBe(2);
    expect(
      valueOf(res.samples, 'cloudflow_http_requests_total', {
        ...gateway,
        route: 'unmatched',
        status: '404',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(res.samples, 'cloudflow_http_request_duration_seconds_count', {
        ...gateway,
        route: '/api/v1/jobs/:jobId/status',
      }),
    ).toBeGreaterThanOrEqual(2);
    // No id, query or unknown path becomes a label value.
    expect(res.text).not.toContain(job!.jobId);
    expect(res.text).not.toContain('job_00000000');
    expect(res.text).not.toContain('no-such-thing');
    // Scrapes are not traffic.
    expect(res.samples.some((s) => s.labels['route'] === '/metrics')).toBe(false);
  });

  it('is not part of the API: /api/v1/metrics does not exist', async () => {
    const res = await stack.api().get('/api/v1/metrics');
    expect(res.status).toBe(404);
  });

  it("shows the scheduler's count of the installation's jobs by state", async () => {
    const samples = await scrapeWhen(
      stack.service('job-scheduler'),
      (s) => valueOf(s, 'cloudflow_jobs', { state: 'SUCCEEDED' }) === 2,
    );
    const byState = Object.fromEntries(
      samples.filter((s) => s.name === 'cloudflow_jobs').map((s) => [s.labels['state'], s.value]),
    );
    expect(byState).toEqual({
      QUEUED: 0,
      RUNNING: 0,
      SUCCEEDED: 2,
      FAILED: 0,
      CANCELLING: 0,
      CANCELLED: 0,
    });
  });

  it("shows the worker's committed tasks and the jobs' rows and bytes, equal to what the jobs report", async () => {
    const tasks = jobs.reduce((n, j) => n + (j.progress.tasksTotal ?? 0), 0);
    // The file output is assembled by one finalize task more.
    const committed = tasks + 1;
    const rowsRead = jobs.reduce((n, j) => n + j.progress.rowsRead, 0);
    const rowsWritten = jobs.reduce((n, j) => n + j.progress.rowsWritten, 0);
    const bytesRead = jobs.reduce((n, j) => n + j.progress.bytesRead, 0);
    const bytesWritten = Buffer.byteLength(stack.readData(OUTPUT));
    expect(rowsRead).toBe(10);

    const samples = await scrapeWhen(
      stack.service('worker'),
      (s) => valueOf(s, 'cloudflow_tasks_finished_total', { outcome: 'committed' }) === committed,
    );
    expect(valueOf(samples, 'cloudflow_tasks_finished_total', { outcome: 'committed' })).toBe(
      committed,
    );
    expect(valueOf(samples, 'cloudflow_tasks_finished_total', { outcome: 'failed' })).toBe(0);
    expect(valueOf(samples, 'cloudflow_tasks_started_total')).toBe(committed);
    expect(
      valueOf(samples, 'cloudflow_task_duration_seconds_count', { outcome: 'committed' }),
    ).toBe(committed);
    expect(valueOf(samples, 'cloudflow_rows_processed_total', { kind: 'read' })).toBe(rowsRead);
    expect(valueOf(samples, 'cloudflow_rows_processed_total', { kind: 'written' })).toBe(
      rowsWritten,
    );
    expect(valueOf(samples, 'cloudflow_rows_processed_total', { kind: 'rejected' })).toBe(0);
    expect(valueOf(samples, 'cloudflow_bytes_processed_total', { direction: 'read' })).toBe(
      bytesRead,
    );
    expect(valueOf(samples, 'cloudflow_bytes_processed_total', { direction: 'written' })).toBe(
      bytesWritten,
    );
    // Nothing was retried.
    const scheduler = (await scrape(stack.service('job-scheduler'))).samples;
    expect(valueOf(scheduler, 'cloudflow_tasks_retried_total')).toBe(0);
    expect(valueOf(scheduler, 'cloudflow_task_lease_expiries_total')).toBe(0);
  });

  it("shows the consumer lag of the worker pool's group on the task topic", async () => {
    const group = { group: 'cloudflow.worker.tasks', topic: 'cloudflow.tasks' };
    const samples = await scrapeWhen(
      stack.service('job-scheduler'),
      (s) => valueOf(s, 'cloudflow_kafka_consumer_lag', group) !== undefined,
    );
    const lag = valueOf(samples, 'cloudflow_kafka_consumer_lag', group);
    expect(lag).toEqual(expect.any(Number));
    expect(lag).toBeGreaterThanOrEqual(0);
    // The scheduler's own group on job events.
    expect(
      valueOf(samples, 'cloudflow_kafka_consumer_lag', {
        group: 'cloudflow.job-scheduler.events',
        topic: 'cloudflow.jobs.events',
      }),
    ).toBeGreaterThanOrEqual(0);
  });
});
