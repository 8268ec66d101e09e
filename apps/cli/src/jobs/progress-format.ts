import type { Job, JobStatus } from '@cloudflow/contracts';

/** One observation of a running job, reduced to what the progress line shows. */
export interface ProgressSnapshot {
  status: JobStatus;
  rowsRead: number;
  rowsWritten: number;
  rowsRejected: number;
  tasksDone: number;
  /** Unknown until the input has been planned. */
  tasksTotal: number | null;
  /** 0..1, from bytes when the input's size is known, else from tasks; unknown before planning. */
  fraction: number | undefined;
  /** Rows read per second over the last few seconds. */
  rowsPerSecond: number | undefined;
  /** Seconds left at the recent pace. */
  etaSeconds: number | undefined;
}

export function fractionOf(job: Job): number | undefined {
  if (job.status === 'SUCCEEDED') return 1;
  const { bytesRead, bytesTotal, tasksDone, tasksTotal } = job.progress;
  if (bytesTotal > 0) return Math.min(1, bytesRead / bytesTotal);
  if (tasksTotal) return Math.min(1, tasksDone / tasksTotal);
  return undefined;
}

interface Sample {
  at: number;
  rows: number;
  fraction: number | undefined;
}

/**
 * Turns successive status answers into a pace and an ETA. The pace is taken
 * over a sliding window rather than since the start, so a job that speeds up
 * (planning done, more workers) shows it within seconds.
 */
export class ProgressTracker {
  private samples: Sample[] = [];

  constructor(private readonly windowMs = 10_000) {}

  observe(job: Job, at: number): ProgressSnapshot {
    const fraction = fractionOf(job);
    this.samples.push({ at, rows: job.progress.rowsRead, fraction });
    while (this.samples.length > 2 && at - (this.samples[1]?.at ?? at) >= this.windowMs) {
      this.samples.shift();
    }
    const first = this.samples[0];
    const seconds = first ? (at - first.at) / 1000 : 0;
    let rowsPerSecond: number | undefined;
    let etaSeconds: number | undefined;
    if (first && seconds >= 0.2) {
      rowsPerSecond = Math.max(0, (job.progress.rowsRead - first.rows) / seconds);
      if (fraction !== undefined && first.fraction !== undefined && fraction > first.fraction) {
        etaSeconds = ((1 - fraction) * seconds) / (fraction - first.fraction);
      }
    }
    if (fraction === 1) etaSeconds = 0;
    return {
      status: job.status,
      rowsRead: job.progress.rowsRead,
      rowsWritten: job.progress.rowsWritten,
      rowsRejected: job.progress.rowsRejected,
      tasksDone: job.progress.tasksDone,
      tasksTotal: job.progress.tasksTotal,
      fraction,
      rowsPerSecond,
      etaSeconds,
    };
  }
}

/** `1,234,567` */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** `8.4`, `950`, `12.3k`, `4.1M` */
export function formatCompact(value: number): string {
  if (value < 10) return (Math.round(value * 10) / 10).toString();
  if (value < 1000) return Math.round(value).toString();
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 10_000 ? 1 : 0)}k`;
  return `${(value / 1_000_000).toFixed(1)}M`;
}

/** `45s`, `3m07s`, `2h05m`; `--` when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h >= 100) return `${h}h`;
  return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How long something took: tenths of a second while short (`0.4s`), else as formatDuration. */
export function formatElapsed(seconds: number): string {
  return seconds < 10 ? `${(Math.round(seconds * 10) / 10).toFixed(1)}s` : formatDuration(seconds);
}

export function formatPercent(fraction: number | undefined): string {
  return fraction === undefined ? '  ?%' : `${Math.floor(fraction * 100)}%`.padStart(4);
}

/** `[██████░░░░░░]`, empty while the size of the work is unknown. */
export function formatBar(fraction: number | undefined, width: number): string {
  const done = Math.round((fraction ?? 0) * width);
  return `[${'█'.repeat(done)}${'░'.repeat(width - done)}]`;
}

/** The figures after the status: rows, pace, ETA, tasks. */
export function formatFigures(p: ProgressSnapshot): string {
  const pace =
    p.rowsPerSecond === undefined ? '-- rows/s' : `${formatCompact(p.rowsPerSecond)} rows/s`;
  const tasks = `tasks ${p.tasksDone}/${p.tasksTotal ?? '?'}`;
  return `${formatCount(p.rowsRead)} rows | ${pace} | ETA ${formatDuration(p.etaSeconds)} | ${tasks}`;
}

/** The live line on a terminal. */
export function formatProgressLine(p: ProgressSnapshot, barWidth = 20): string {
  return `${p.status.padEnd(10)} ${formatBar(p.fraction, barWidth)} ${formatPercent(p.fraction)} | ${formatFigures(p)}`;
}

/** One line of the plain log, when stdout is not a terminal. */
export function formatPlainLine(p: ProgressSnapshot): string {
  return `${p.status} ${formatPercent(p.fraction).trim()} | ${formatFigures(p)}`;
}
