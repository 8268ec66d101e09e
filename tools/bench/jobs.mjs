// Steps 4 and 5 through the gateway API: timed file jobs and submit -> first-task latency.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { availableParallelism } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { countRecords } from './engine.mjs';
import { API_KEY } from './stack.mjs';
import {
  MiB,
  cpuSnapshot,
  findProcesses,
  percentile,
  procStatus,
  round,
  say,
  sleep,
} from './util.mjs';

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export class Api {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
  }

  async request(method, path, body) {
    const headers = { Authorization: `ApiKey ${API_KEY}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text };
  }

  async createPipeline(name, source, sink) {
    const res = await this.request('POST', '/api/v1/pipelines', {
      name,
      steps: [
        { type: 'source', config: { path: source } },
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { path: sink } },
      ],
    });
    if (res.status !== 201) throw new Error(`create pipeline answered ${res.status}: ${res.text}`);
    return res.body.id;
  }

  /** Submits a job and polls its status until it finishes; times it on the client. */
  async runJob(pipelineId, { pollMs, timeoutMs = 30 * 60_000 }) {
    const submittedAt = Date.now();
    const t0 = performance.now();
    const res = await this.request('POST', '/api/v1/jobs', { pipelineId });
    if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${res.text}`);
    const { jobId } = res.body;
    for (;;) {
      const status = await this.request('GET', `/api/v1/jobs/${jobId}/status`);
      if (status.status !== 200)
        throw new Error(`status answered ${status.status}: ${status.text}`);
      if (FINISHED.has(status.body.status)) {
        return { job: status.body, submittedAt, seconds: (performance.now() - t0) / 1000 };
      }
      if (performance.now() - t0 > timeoutMs) throw new Error(`job ${jobId} did not finish`);
      await sleep(pollMs);
    }
  }
}

/** Pids of everything that may spend CPU during a job, by a readable name. */
function cpuParticipants(stack) {
  const named = { bench: process.pid };
  for (const s of stack.services) named[s.id] = s.pid;
  const kafka = findProcesses(/\bkafka\.Kafka\b/)[0];
  const ferret = findProcesses(/(^|\/)ferretdb\s/)[0];
  if (kafka) named.kafka = kafka.pid;
  if (ferret) named.ferretdb = ferret.pid;
  return named;
}

/**
 * Step 4: one timed job on the big CSV (source -> uppercase -> file sink) with the
 * stack's current workers; verifies the output's record count and removes it.
 */
export async function timedFileJob(stack, api, csv, dataDir) {
  const workers = stack.workers.length;
  const sink = `/out-${workers}.csv`;
  const outPath = join(dataDir, sink.slice(1));
  await rm(outPath, { force: true });
  const pipelineId = await api.createPipeline(`bench-${workers}w`, '/bench.csv', sink);
  const cpu = cpuSnapshot(cpuParticipants(stack));
  const wall = performance.now();
  const { job, submittedAt, seconds } = await api.runJob(pipelineId, { pollMs: 100 });
  const cpuSeconds = cpu.since();
  const wallSeconds = (performance.now() - wall) / 1000;
  const workerPeakRssMb = Math.max(
    ...stack.workers.map((w) => (procStatus(w.pid)?.VmHWM ?? 0) / 1024),
  );
  if (job.status !== 'SUCCEEDED') {
    throw new Error(`the ${workers}-worker job ended ${job.status}: ${JSON.stringify(job.error)}`);
  }
  const result = {
    workers,
    seconds: round(seconds, 2),
    mibPerSecond: round(csv.bytes / MiB / seconds, 2),
    tasks: job.progress?.tasksTotal,
    attempts: job.attempts,
    queuedMs: Date.parse(job.startedAt) - submittedAt,
    runningMs: Date.parse(job.finishedAt) - Date.parse(job.startedAt),
    workerPeakRssMb: round(workerPeakRssMb, 1),
    cpuSeconds,
    cpuUtilisation: round(
      Object.values(cpuSeconds).reduce((a, b) => a + b, 0) / wallSeconds / availableParallelism(),
      2,
    ),
  };
  say(
    `job, ${workers} worker(s): ${result.mibPerSecond} MiB/s (${result.seconds} s, ` +
      `${result.tasks} tasks, worker peak RSS ${result.workerPeakRssMb} MB)`,
  );
  say(`  CPU seconds during the job: ${formatCpu(cpuSeconds)}`);
  result.output = await verifyOutput(outPath, csv);
  await rm(outPath, { force: true });
  return result;
}

function formatCpu(cpuSeconds) {
  return Object.entries(cpuSeconds)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s}`)
    .join(', ');
}

async function verifyOutput(outPath, csv) {
  if (!existsSync(outPath)) {
    say(`WARNING: the job succeeded but ${outPath} does not exist`);
    return { records: 0, bytes: 0, ok: false };
  }
  const bytes = statSync(outPath).size;
  const records = await countRecords(outPath);
  const hash = createHash('sha256');
  await pipeline(createReadStream(outPath), hash);
  const sha256 = hash.digest('hex');
  const ok = records === csv.rows;
  if (!ok) say(`WARNING: output has ${records} data records, the input ${csv.rows}`);
  if (Math.abs(bytes - csv.bytes) > csv.bytes * 0.01) {
    say(`WARNING: output is ${bytes} bytes, the input ${csv.bytes} (more than 1% apart)`);
  }
  return { records, bytes, sha256, ok };
}

/**
 * Step 5: small jobs one after another; for each, the job's startedAt (the first
 * task claim) minus the client's clock just before POST /jobs. The first `warmup`
 * samples are dropped.
 */
export async function submitLatency(api, { jobs, warmup }) {
  const pipelineId = await api.createPipeline('bench-latency', '/tiny.csv', '/tiny-out.csv');
  const samples = [];
  const accepted = [];
  for (let i = 0; i < jobs; i++) {
    const { job, submittedAt } = await api.runJob(pipelineId, { pollMs: 100, timeoutMs: 60_000 });
    if (job.status !== 'SUCCEEDED' || !job.startedAt) {
      say(`WARNING: latency job ${i + 1} ended ${job.status} (startedAt ${job.startedAt})`);
      continue;
    }
    if (i < warmup) continue;
    samples.push(Date.parse(job.startedAt) - submittedAt);
    accepted.push(Date.parse(job.createdAt) - submittedAt);
  }
  if (samples.length === 0) throw new Error('no latency samples');
  const result = {
    samples: samples.length,
    warmup,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    // Of which: POST /jobs until the job document's createdAt (the rest is planning + dispatch + claim).
    submitToCreatedP50Ms: percentile(accepted, 50),
    allMs: samples,
  };
  say(
    `submit -> first task: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (${samples.length} jobs; ` +
      `submit -> createdAt p50 ${result.submitToCreatedP50Ms} ms)`,
  );
  return result;
}
