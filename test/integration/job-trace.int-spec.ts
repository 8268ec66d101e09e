import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { MongoClient } from 'mongodb';
import type { z } from 'zod';
import { isTerminalStatus, type Job, type Pipeline } from '@cloudflow/contracts';
import { TaskLedger, attemptId, taskId } from '@cloudflow/job-store';
import { ServiceAttributeSpanProcessor } from '@cloudflow/observability';
import { startComposedService, type ServiceDefinition } from '@cloudflow/runtime';
import { authService } from '@cloudflow/service-auth';
import { datasourceBrokerService } from '@cloudflow/service-datasource-broker';
import { gatewayService } from '@cloudflow/service-gateway';
import { jobSchedulerService } from '@cloudflow/service-job-scheduler';
import { pipelineRegistryService } from '@cloudflow/service-pipeline-registry';
import { workerService } from '@cloudflow/service-worker';
import { ApiClient, eventually, freePort, uniqueName, withDatabase } from '@cloudflow/testing';

/**
 * One job's trace, end to end: the six services run in this test process on
 * the real Kafka and FerretDB (each service as its own Nest application, as
 * in a process of its own), and one in-memory exporter sees every span. A
 * job's spans must form one tree rooted at the API call that submitted it:
 * HTTP -> `rpc jobs.submit` (gateway, then scheduler) -> `job plan` ->
 * `task dispatch` per task -> the worker's span for the task -> its commit and
 * the events the scheduler consumes; re-dispatched attempts too, even when the
 * sweep, which runs in no request, sends them. The HTTP server span is the
 * runtime's own (`traceRequests`): Node's http module was loaded before this
 * file, so the OpenTelemetry HTTP instrumentation could not patch it.
 *
 * The services use CloudFlow's real topics and consumer groups (there is no
 * setting to prefix them) and a database of this run's own. A task or event
 * left on Kafka by another run is skipped here (its job is not in this
 * database), but a CloudFlow stack running at the same moment on the same
 * Kafka (an e2e suite) would share the groups: requests and tasks would reach
 * either side's services. Run it when no such stack is up.
 */

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [new ServiceAttributeSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
const API_KEY = `it-trace-${randomBytes(12).toString('hex')}`;
const TASKS_PROCESS = 'cloudflow.tasks process';
const EVENTS_PROCESS = 'cloudflow.jobs.events process';

/** 40 rows of about 30 bytes: several tasks of TASK_TARGET_BYTES=256. */
const CSV = [
  'id,name,city',
  ...Array.from({ length: 40 }, (_, i) => `${i + 1},person number ${i + 1},city ${i % 7}`),
].join('\n');

let database: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let api: ApiClient;
let pipeline: Pipeline;
const apps = new Map<string, INestApplication>();

async function start<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
  extra: NodeJS.ProcessEnv = {},
): Promise<INestApplication> {
  const app = await startComposedService(definition, {
    env: { ...env, ...extra },
    listen: extra['PORT'] !== undefined,
  });
  apps.set(definition.name, app);
  return app;
}

async function stop(name: string): Promise<void> {
  await apps.get(name)?.close();
  apps.delete(name);
}

beforeAll(async () => {
  // Before any service starts: every span of every service goes to the exporter.
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  database = uniqueName('it_trace');
  dataDir = mkdtempSync(join(tmpdir(), 'cloudflow-trace-'));
  mkdirSync(join(dataDir, 'in'), { recursive: true });
  writeFileSync(join(dataDir, 'in', 'people.csv'), CSV);
  const gatewayPort = await freePort();
  const authPort = await freePort();
  env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    KAFKA_BROKERS: process.env['KAFKA_BROKERS'],
    MONGO_URL: withDatabase(process.env['MONGO_URL']!, database),
    CLOUDFLOW_DATA_DIR: dataDir,
    CLOUDFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
    CLOUDFLOW_BOOTSTRAP_API_KEY: API_KEY,
    AUTH_HTTP_URL: `http://127.0.0.1:${authPort}`,
    OAUTH_ISSUER: `http://127.0.0.1:${gatewayPort}`,
    RPC_TIMEOUT_MS: '10000',
    TASK_TARGET_BYTES: '256',
    JOB_SWEEP_INTERVAL_MS: '300',
    TASK_HEARTBEAT_MS: '500',
  };
  // Whoever is called starts before whoever calls; the gateway last.
  await start(authService);
  await start(pipelineRegistryService);
  await start(datasourceBrokerService);
  await start(jobSchedulerService);
  await start(workerService);
  await start(gatewayService, { HOST: '127.0.0.1', PORT: String(gatewayPort) });
  api = new ApiClient(`http://127.0.0.1:${gatewayPort}`, `ApiKey ${API_KEY}`);

  const created = await api.post<Pipeline>('/api/v1/pipelines', {
    name: uniqueName('traced'),
    steps: [
      { type: 'source', config: { path: '/in/people.csv' } },
      { type: 'transform', config: { operation: 'uppercase', fields: ['name'] } },
      // A file: once the ranges are committed, a finalize task assembles it.
      { type: 'sink', config: { path: '/out/people.csv' } },
    ],
  });
  expect(created.status).toBe(201);
  pipeline = created.body;
}, 120_000);

afterAll(async () => {
  for (const name of [...apps.keys()].reverse()) await stop(name).catch(() => undefined);
  await provider.shutdown();
  const client = await MongoClient.connect(process.env['MONGO_URL']!);
  await client
    .db(database)
    .dropDatabase()
    .finally(() => client.close());
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

beforeEach(() => exporter.reset());

describe("a job's trace", () => {
  it('is one tree from the API call through planning, every task and its events', async () => {
    const job = await submit();
    await waitFor(job.jobId, 'SUCCEEDED');
    const ledger = await apps
      .get('job-scheduler')!
      .get(TaskLedger, { strict: false })
      .snapshot(job.jobId);
    const taskIds = ledger.tasks.map((t) => t._id).sort();
    const ranges = ledger.tasks.filter((t) => t.kind === 'range');
    expect(ranges.length).toBeGreaterThanOrEqual(3);
    expect(ledger.tasks.filter((t) => t.kind === 'finalize')).toHaveLength(1);

    // Every task's worker span has ended (the job can show SUCCEEDED just before the last one).
    await eventually(
      async () =>
        new Set(spansOf(job.jobId, TASKS_PROCESS).map((s) => s.attributes['cloudflow.task_id']))
          .size === taskIds.length,
      30_000,
    );
    const trace = traceOf(job.jobId);

    // The root: the gateway's server span of this very request.
    expect(trace.root.name).toBe('POST /api/v1/jobs');
    expect(trace.root.kind).toBe(SpanKind.SERVER);
    expect(trace.root.attributes['cloudflow.service']).toBe('gateway');

    // The submit RPC, as the gateway sent it and as the scheduler served it.
    const submitServer = trace.only(
      (s) => s.name === 'rpc jobs.submit' && s.kind === SpanKind.SERVER,
    );
    expect(submitServer.attributes['cloudflow.service']).toBe('job-scheduler');
    expect(trace.names(submitServer)).toEqual([
      'rpc jobs.submit',
      'rpc jobs.submit',
      'POST /api/v1/jobs',
    ]);
    expect(trace.parentOf(submitServer).kind).toBe(SpanKind.CLIENT);

    // Planning continues the stored context: a child of the scheduler's submit span.
    const plan = trace.only(
      (s) => s.name === 'job plan' && s.attributes['cloudflow.job_id'] === job.jobId,
    );
    expect(trace.parentOf(plan)).toBe(submitServer);
    expect(plan.attributes['cloudflow.tasks']).toBe(ranges.length);
    expect(plan.attributes['cloudflow.service']).toBe('job-scheduler');

    // One dispatch span per task: the ranges under the plan; the assembly under whatever of
    // the job's own work asked for it (the plan's last look, a task's event, a sweep).
    const dispatches = spansOf(job.jobId, 'task dispatch');
    expect(dispatches.map((s) => s.attributes['cloudflow.task_id']).sort()).toEqual(taskIds);
    for (const dispatch of dispatches) {
      expect(dispatch.kind).toBe(SpanKind.PRODUCER);
      expect(dispatch.attributes['cloudflow.service']).toBe('job-scheduler');
      const parent = trace.parentOf(dispatch);
      if (dispatch.attributes['cloudflow.task_kind'] === 'range') expect(parent).toBe(plan);
      else if (parent !== submitServer) {
        expect(['job plan', EVENTS_PROCESS]).toContain(parent.name);
        expect(parent.attributes['cloudflow.job_id']).toBe(job.jobId);
      }
      expect(trace.ancestors(dispatch)).toContain(submitServer);
    }
    // Sweeps of the job run in traces of their own, linked to the job's.
    for (const sweep of spansOf(job.jobId, 'job sweep')) {
      expect(sweep.spanContext().traceId).not.toBe(submitServer.spanContext().traceId);
      expect(sweep.links.map((l) => l.context.traceId)).toEqual([
        submitServer.spanContext().traceId,
      ]);
    }

    // Every task message the worker took, each under its own dispatch span, all the way up.
    const consumed = spansOf(job.jobId, TASKS_PROCESS);
    expect(consumed).toHaveLength(taskIds.length);
    for (const span of consumed) {
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.attributes['cloudflow.service']).toBe('worker');
      const dispatch = trace.parentOf(span);
      expect(dispatch.name).toBe('task dispatch');
      expect(dispatch.attributes['cloudflow.task_id']).toBe(span.attributes['cloudflow.task_id']);
      expect(dispatch.attributes['cloudflow.attempt']).toBe(span.attributes['cloudflow.attempt']);
      expect(trace.ancestors(span)).toContain(submitServer);
      // Spans inside the task: its commit.
      const commits = trace.spans.filter(
        (s) => s.name === 'task commit' && s.parentSpanContext?.spanId === spanId(span),
      );
      expect(commits).toHaveLength(1);
      expect(commits[0]!.attributes['cloudflow.service']).toBe('worker');
    }

    // The task events the scheduler consumed continue the task's span.
    const events = spansOf(job.jobId, EVENTS_PROCESS);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.attributes['cloudflow.service']).toBe('job-scheduler');
      expect(consumed).toContain(trace.parentOf(event));
    }
  }, 180_000);

  it('keeps re-dispatched attempts in the trace, also when the sweep sends them', async () => {
    // No worker: the job's first attempts wait on the task topic.
    await stop('worker');
    const job = await submit();
    await eventually(async () => spansOf(job.jobId, 'job plan').length === 1, 30_000);
    const ledger = apps.get('job-scheduler')!.get(TaskLedger, { strict: false });
    const first = taskId(job.jobId, 0);
    const [task] = (await ledger.snapshot(job.jobId)).tasks.filter((t) => t._id === first);
    // A worker took attempt 1 of the first task a minute ago and died: its lease has lapsed.
    const longAgo = new Date(Date.now() - 60_000);
    await ledger.claim({
      _id: attemptId(first, 1),
      workspaceId: task!.workspaceId,
      jobId: job.jobId,
      taskId: first,
      attempt: 1,
      workerId: 'worker-gone',
      claimedAt: longAgo,
      renewedAt: longAgo,
      progress: { rowsRead: 0, rowsWritten: 0, rowsRejected: 0, bytesRead: 0 },
    });
    // Planning is over and no worker sends events: only the sweep can dispatch attempt 2.
    await eventually(async () => (await ledger.latestAttempt(first)) === 2, 30_000);
    await start(workerService);
    await waitFor(job.jobId, 'SUCCEEDED');
    await eventually(
      async () =>
        spansOf(job.jobId, TASKS_PROCESS).some(
          (s) =>
            s.attributes['cloudflow.task_id'] === first && s.attributes['cloudflow.attempt'] === 2,
        ),
      30_000,
    );

    const trace = traceOf(job.jobId);
    expect(trace.root.name).toBe('POST /api/v1/jobs');
    const submitServer = trace.only(
      (s) => s.name === 'rpc jobs.submit' && s.kind === SpanKind.SERVER,
    );
    const retry = trace.only(
      (s) =>
        s.name === 'task dispatch' &&
        s.attributes['cloudflow.task_id'] === first &&
        s.attributes['cloudflow.attempt'] === 2,
    );
    // Sent by a sweep of the job (a trace of its own, linked to the job's), under the job's
    // stored context.
    expect(trace.parentOf(retry)).toBe(submitServer);
    const sweeps = spansOf(job.jobId, 'job sweep');
    expect(sweeps.length).toBeGreaterThan(0);
    for (const sweep of sweeps) {
      expect(sweep.links.map((l) => l.context.traceId)).toEqual([
        submitServer.spanContext().traceId,
      ]);
    }
    const ran = trace.only(
      (s) =>
        s.name === TASKS_PROCESS &&
        s.attributes['cloudflow.task_id'] === first &&
        s.attributes['cloudflow.attempt'] === 2,
    );
    expect(trace.parentOf(ran)).toBe(retry);
    expect(ran.attributes['cloudflow.service']).toBe('worker');
    // Every message of the job the new worker took, attempt 1 (skipped: claimed) included.
    for (const span of spansOf(job.jobId, TASKS_PROCESS)) {
      expect(trace.ancestors(span).at(-1)).toBe(trace.root);
    }
  }, 180_000);
});

async function submit(): Promise<Job> {
  const res = await api.post<Job>('/api/v1/jobs', { pipelineId: pipeline.id });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${res.text}`);
  return res.body;
}

/** Polls the job's status until it is `status`; fails at once when it finished otherwise. */
async function waitFor(jobId: string, status: Job['status']): Promise<void> {
  const until = Date.now() + 90_000;
  let last: Job | undefined;
  while (Date.now() < until) {
    last = (await api.get<Job>(`/api/v1/jobs/${jobId}/status`)).body;
    if (last.status === status) return;
    if (isTerminalStatus(last.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`job ${jobId} not ${status}: ${JSON.stringify(last)}`);
}

function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

/** Spans named `name` that carry the job's id. */
function spansOf(jobId: string, name: string): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((s) => s.name === name && s.attributes['cloudflow.job_id'] === jobId);
}

/**
 * The job's trace: every span that names the job (but its sweeps, traces of
 * their own linked to it) must share one trace id,
 * and every parent link from them must lead, span by exported span, to one
 * root — a missing parent is a broken chain.
 */
function traceOf(jobId: string) {
  const named = exporter
    .getFinishedSpans()
    .filter((s) => s.attributes['cloudflow.job_id'] === jobId && s.name !== 'job sweep');
  expect(named.length).toBeGreaterThan(0);
  const traceIds = new Set(named.map((s) => s.spanContext().traceId));
  expect([...traceIds]).toHaveLength(1);
  const [traceId] = [...traceIds];
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(spans.map((s) => [spanId(s), s]));
  const parentOf = (span: ReadableSpan): ReadableSpan => {
    const id = span.parentSpanContext?.spanId;
    const parent = id === undefined ? undefined : byId.get(id);
    if (!parent) throw new Error(`'${span.name}' has no exported parent (${id ?? 'a root'})`);
    return parent;
  };
  const ancestors = (span: ReadableSpan): ReadableSpan[] => {
    const chain: ReadableSpan[] = [];
    for (let s = span; s.parentSpanContext; ) {
      s = parentOf(s);
      chain.push(s);
    }
    return chain;
  };
  const roots = spans.filter((s) => !s.parentSpanContext);
  expect(roots.map((s) => s.name)).toHaveLength(1);
  const root = roots[0]!;
  for (const span of named) expect(span === root || ancestors(span).at(-1) === root).toBe(true);
  return {
    spans,
    root,
    parentOf,
    ancestors,
    /** The names from `span` up to the root. */
    names: (span: ReadableSpan) => [span, ...ancestors(span)].map((s) => s.name),
    only: (match: (span: ReadableSpan) => boolean): ReadableSpan => {
      const found = spans.filter(match);
      expect(found).toHaveLength(1);
      return found[0]!;
    },
  };
}
