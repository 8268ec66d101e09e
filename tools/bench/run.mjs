// CloudFlow benchmark: `npm run bench` (see tools/bench/README.md). Prints figures, asserts nothing.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureInputCsv, tinyCsv } from './data.mjs';
import { measureEngine, measureEngineParallel } from './engine.mjs';
import { Api, submitLatency, timedFileJob } from './jobs.mjs';
import {
  BenchStack,
  provideInfra,
  stopInfra,
  waitForExclusiveMachine,
  waitForWorkerGroup,
} from './stack.mjs';
import { BENCH_DIR, MiB, ROOT, formatInt, round, say } from './util.mjs';

const exec = promisify(execFile);
const startedAt = Date.now();
const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`BENCH_ROWS must be a positive integer`);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 50);
const LATENCY_WARMUP = 5;
const cores = availableParallelism();

/** Cleanup steps, run last-in first-out at the end, on error and on Ctrl-C. */
const cleanups = [];
let interrupted = false;
async function cleanup() {
  while (cleanups.length > 0) {
    await cleanups
      .pop()()
      .catch((e) => say(`cleanup: ${e.message}`));
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    say(`${signal}: stopping what this run started ...`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function build() {
  if (process.env.BENCH_SKIP_BUILD === '1') return say('build: skipped (BENCH_SKIP_BUILD=1)');
  say('building (node tools/build.mjs) ...');
  const { stdout } = await exec(process.execPath, ['tools/build.mjs'], { cwd: ROOT });
  say(`build: ${stdout.trim().split('\n').pop()}`);
}

/** Puts the input CSV and the tiny latency CSV into a fresh data root. */
function prepareDataRoot(csv) {
  const dataDir = join(BENCH_DIR, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  try {
    linkSync(csv.path, join(dataDir, 'bench.csv'));
  } catch {
    copyFileSync(csv.path, join(dataDir, 'bench.csv'));
  }
  writeFileSync(join(dataDir, 'tiny.csv'), tinyCsv());
  return dataDir;
}

async function dropDatabase(url) {
  if (process.env.BENCH_KEEP_DB === '1') return;
  const { MongoClient } = await import('mongodb');
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
}

/** Steps 4 and 5 on a stack of this run's own. */
async function endToEnd(csv) {
  const infra = await provideInfra();
  if (infra.startedHere) cleanups.push(stopInfra);
  const dataDir = prepareDataRoot(csv);
  const database = `bench_${Date.now()}`;
  const stack = new BenchStack({
    ...infra,
    database,
    dataDir,
    logDir: join(BENCH_DIR, 'logs'),
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  });
  rmSync(stack.logDir, { recursive: true, force: true });
  mkdirSync(stack.logDir, { recursive: true });
  cleanups.push(() => dropDatabase(stack.mongoUrl));
  cleanups.push(async () => {
    say('stopping the services (SIGTERM)');
    await stack.stop();
  });
  say(`starting the services (database ${database}, logs in ${stack.logDir}) ...`);
  await stack.start(1);
  const api = new Api(stack.gatewayUrl);
  await waitForWorkerGroup(infra.kafkaBrokers, 1);
  const warmup = await api.createPipeline('bench-warmup', '/tiny.csv', '/warmup-out.csv');
  await api.runJob(warmup, { pollMs: 50, timeoutMs: 120_000 });

  const one = await timedFileJob(stack, api, csv, dataDir);
  say('adding a second worker ...');
  await (await stack.add('worker')).waitReady();
  await waitForWorkerGroup(infra.kafkaBrokers, 2);
  const two = await timedFileJob(stack, api, csv, dataDir);
  say('adding two more workers ...');
  const third = await stack.add('worker');
  const fourth = await stack.add('worker');
  await Promise.all([third.waitReady(), fourth.waitReady()]);
  await waitForWorkerGroup(infra.kafkaBrokers, 4);
  const four = await timedFileJob(stack, api, csv, dataDir);
  const latency = await submitLatency(api, { jobs: LATENCY_JOBS, warmup: LATENCY_WARMUP });
  await cleanup();
  const hashes = new Set([one, two, four].map((j) => j.output.sha256));
  return {
    database,
    jobs: {
      oneWorker: one,
      twoWorkers: two,
      fourWorkers: four,
      speedup: round(one.seconds / two.seconds, 2),
      speedupFour: round(one.seconds / four.seconds, 2),
      identicalOutput: hashes.size === 1,
    },
    workerPeakRssMb: Math.max(one.workerPeakRssMb, two.workerPeakRssMb, four.workerPeakRssMb),
    latency,
  };
}

function summary(r) {
  const pad = (label) => label.padEnd(31);
  const lines = [
    `CloudFlow benchmark (${cores} cores, ${formatInt(r.input.rows)} rows, ${r.input.mib} MiB)`,
    `${pad('parse only')}${r.parse.bestMiBps.toFixed(1)} MiB/s   (median ${r.parse.medianMiBps.toFixed(1)})`,
    `${pad('engine CSV->uppercase->CSV')}${r.engine.bestMiBps.toFixed(1)} MiB/s per core   ` +
      `(median ${r.engine.medianMiBps.toFixed(1)}, peak RSS ${Math.round(r.engine.peakRssMb)} MB)`,
    `${pad('engine x2 processes at once')}${r.engineParallel.aggregateMiBps.toFixed(1)} MiB/s together` +
      `   speed-up ${r.engineParallel.speedup.toFixed(2)}x (data plane alone)`,
  ];
  if (r.endToEnd?.jobs) {
    const { oneWorker: one, twoWorkers: two, fourWorkers: four, speedup } = r.endToEnd.jobs;
    const { latency } = r.endToEnd;
    lines.push(
      `${pad('job, 1 worker')}${one.mibPerSecond.toFixed(1)} MiB/s  (${one.seconds.toFixed(1)} s)`,
      `${pad('job, 2 workers')}${two.mibPerSecond.toFixed(1)} MiB/s  (${two.seconds.toFixed(1)} s)` +
        `   speed-up ${speedup.toFixed(2)}x (target >= 1.7x)`,
      `${pad('job, 4 workers')}${four.mibPerSecond.toFixed(1)} MiB/s  (${four.seconds.toFixed(1)} s)` +
        `   speed-up ${r.endToEnd.jobs.speedupFour.toFixed(2)}x (${cores} cores shared by all)`,
      `${pad('output of 1, 2 and 4 workers')}` +
        (r.endToEnd.jobs.identicalOutput
          ? 'byte-identical (SHA-256)'
          : 'DIFFERENT (see results.json)'),
      `${pad('worker peak RSS')}${Math.round(r.endToEnd.workerPeakRssMb)} MB (target < 300 MB)`,
      `${pad('submit -> first task')}p50 ${latency.p50Ms} ms   p99 ${latency.p99Ms} ms` +
        `   (${latency.samples} jobs; target p50 < 50 ms)`,
    );
  } else {
    lines.push(`${pad('end-to-end jobs')}skipped: ${r.endToEnd?.skipped ?? 'not run'}`);
  }
  lines.push(`${pad('total benchmark time')}${r.durationSeconds.toFixed(0)} s`);
  return lines.join('\n');
}

async function main() {
  const results = {
    startedAt: new Date(startedAt).toISOString(),
    machine: {
      cores,
      cpu: cpus()[0]?.model,
      memoryMb: Math.round(totalmem() / MiB),
      node: process.version,
    },
  };
  const csv = await ensureInputCsv(rows);
  results.input = { rows: csv.rows, bytes: csv.bytes, mib: round(csv.bytes / MiB, 1) };

  // Building replaces dist/ under any running stack, and a running stack skews the figures.
  let exclusive = await waitForExclusiveMachine();
  if (exclusive || !existsSync(join(ROOT, 'dist'))) await build();
  else say('WARNING: other CloudFlow services still run: benchmarking the existing dist/');

  say('step 2/3: engine alone, 3 runs each, one process each');
  results.parse = await measureEngine('parse', csv);
  results.engine = await measureEngine('engine', csv);
  results.engineParallel = await measureEngineParallel(csv, 2);

  if (exclusive) exclusive = await waitForExclusiveMachine();
  if (exclusive) {
    results.endToEnd = await endToEnd(csv);
  } else {
    results.endToEnd = { skipped: 'other CloudFlow services kept running for 15 minutes' };
    say(`WARNING: end-to-end steps skipped: ${results.endToEnd.skipped}`);
  }
  results.durationSeconds = round((Date.now() - startedAt) / 1000, 1);
  writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\n${summary(results)}\n`);
  say(`figures written to ${join(BENCH_DIR, 'results.json')}`);
}

try {
  await main();
} catch (error) {
  if (!interrupted)
    say(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
