// Small helpers shared by the benchmark modules: paths, logging, statistics, /proc.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH_DIR = join(ROOT, 'tmp/bench');
export const MiB = 1024 * 1024;
const CLOCK_TICKS = 100; // USER_HZ: 100 on every mainstream Linux build

/** Progress goes to stderr; stdout carries only the summary. */
export function say(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export const round = (value, digits = 1) => Number(value.toFixed(digits));

/** Fields of /proc/<pid>/status in kB (VmHWM, VmRSS, ...); null when the process is gone. */
export function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const fields = {};
    for (const line of text.split('\n')) {
      const m = /^(\w+):\s+(\d+) kB$/.exec(line);
      if (m) fields[m[1]] = Number(m[2]);
    }
    return fields;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Live processes whose command line matches `pattern`, as [{ pid, cmdline }]. */
export function findProcesses(pattern) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (pattern.test(cmdline)) found.push({ pid: Number(entry), cmdline });
  }
  return found;
}

/** Takes a snapshot of CPU seconds per named pid; `since` answers the difference. */
export function cpuSnapshot(named) {
  const start = Object.fromEntries(Object.entries(named).map(([n, pid]) => [n, cpuSeconds(pid)]));
  return {
    since() {
      return Object.fromEntries(
        Object.entries(named).map(([n, pid]) => [n, round(cpuSeconds(pid) - start[n], 2)]),
      );
    },
  };
}

export function formatInt(n) {
  return n.toLocaleString('en-US');
}
