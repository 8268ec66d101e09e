// Steps 2 and 3: the engine alone, one process (one core), on the whole file as one range.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_DIR, MiB, median, round, say } from './util.mjs';

const run = promisify(execFile);
const CHILD = new URL('./engine-child.mjs', import.meta.url).pathname;

async function measureOnce(mode, csv, instance = 0) {
  const args = [CHILD, mode, csv.path];
  if (mode === 'engine') args.push(join(BENCH_DIR, `engine-out-${instance}.part`));
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 20 });
  const result = JSON.parse(stdout.trim().split('\n').pop());
  if (result.rows !== csv.rows) {
    say(`WARNING: ${mode} counted ${result.rows} rows, the input has ${csv.rows}`);
  }
  return {
    seconds: round(result.seconds, 3),
    mibPerSecond: round(csv.bytes / MiB / result.seconds, 2),
    rows: result.rows,
    peakRssMb: round(result.peakRssKb / 1024, 1),
  };
}

/** Counts the data records of a CSV file with the engine's own parser (embedded newlines included). */
export async function countRecords(path) {
  const { stdout } = await run(process.execPath, [CHILD, 'parse', path], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()).rows;
}

/** Runs `mode` `repeats` times, each in a fresh process; answers best, median and the runs. */
export async function measureEngine(mode, csv, repeats = 3) {
  const runs = [];
  for (let i = 1; i <= repeats; i++) {
    const r = await measureOnce(mode, csv);
    say(
      `${mode} run ${i}/${repeats}: ${r.mibPerSecond} MiB/s (${r.seconds} s, peak RSS ${r.peakRssMb} MB)`,
    );
    runs.push(r);
  }
  const speeds = runs.map((r) => r.mibPerSecond);
  return {
    bestMiBps: Math.max(...speeds),
    medianMiBps: round(median(speeds), 2),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    runs,
  };
}

/**
 * The data plane's scaling without the control plane: `processes` engine
 * processes at once, each over the whole file. Aggregate MiB/s over the
 * slowest one, and the speed-up over one process measured the same way.
 */
export async function measureEngineParallel(csv, processes = 2) {
  const single = await measureOnce('engine', csv);
  const runs = await Promise.all(
    Array.from({ length: processes }, (_, i) => measureOnce('engine', csv, i + 1)),
  );
  const slowest = Math.max(...runs.map((r) => r.seconds));
  const aggregate = round((processes * csv.bytes) / MiB / slowest, 2);
  const result = {
    processes,
    singleMiBps: single.mibPerSecond,
    aggregateMiBps: aggregate,
    speedup: round(aggregate / single.mibPerSecond, 2),
  };
  say(
    `engine x${processes} in parallel: ${aggregate} MiB/s together, ${result.speedup}x one process`,
  );
  return result;
}
