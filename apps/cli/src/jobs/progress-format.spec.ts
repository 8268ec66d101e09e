import type { Job } from '@cloudflow/contracts';
import {
  ProgressTracker,
  formatCompact,
  formatDuration,
  formatElapsed,
  formatPlainLine,
  formatProgressLine,
  fractionOf,
} from './progress-format';

function job(progress: Partial<Job['progress']> = {}, status: Job['status'] = 'RUNNING'): Job {
  return {
    jobId: 'job_1',
    status,
    pipelineId: 'pl_1',
    pipelineVersion: 1,
    input: { path: '/in.csv', format: 'csv' },
    output: { kind: 'result-store' },
    progress: {
      tasksTotal: 10,
      tasksDone: 0,
      rowsRead: 0,
      rowsWritten: 0,
      rowsRejected: 0,
      bytesRead: 0,
      bytesTotal: 1000,
      ...progress,
    },
    attempts: { total: 0, retries: 0 },
    error: null,
    timeoutSeconds: 3600,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
  };
}

describe('progress formatting', () => {
  it.each([
    [undefined, '--'],
    [Number.NaN, '--'],
    [0, '0s'],
    [44.6, '45s'],
    [187, '3m07s'],
    [3600 * 2 + 5 * 60, '2h05m'],
    [3600 * 150, '150h'],
  ])('formats %s seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('writes short elapsed times in tenths', () => {
    expect(formatElapsed(0.42)).toBe('0.4s');
    expect(formatElapsed(4)).toBe('4.0s');
    expect(formatElapsed(75)).toBe('1m15s');
  });

  it.each([
    [0, '0'],
    [8.44, '8.4'],
    [950.2, '950'],
    [12_345, '12k'],
    [1_234, '1.2k'],
    [4_100_000, '4.1M'],
  ])('writes %s rows/s as %s', (value, text) => {
    expect(formatCompact(value)).toBe(text);
  });

  it('takes the fraction from bytes, else tasks, and 1 once SUCCEEDED', () => {
    expect(fractionOf(job({ bytesRead: 250 }))).toBe(0.25);
    expect(fractionOf(job({ bytesTotal: 0, tasksDone: 3, tasksTotal: 4 }))).toBe(0.75);
    expect(fractionOf(job({ bytesTotal: 0, tasksTotal: null }))).toBeUndefined();
    expect(fractionOf(job({ bytesTotal: 0, tasksTotal: null }, 'SUCCEEDED'))).toBe(1);
  });

  it('draws the bar, the rows, the pace, the ETA and the tasks on one line', () => {
    const tracker = new ProgressTracker();
    tracker.observe(job({ rowsRead: 0, bytesRead: 0 }), 0);
    const p = tracker.observe(job({ rowsRead: 5000, bytesRead: 250, tasksDone: 2 }), 2000);

    expect(p.rowsPerSecond).toBe(2500);
    // A quarter took 2 s: three quarters take 6 s more.
    expect(p.etaSeconds).toBe(6);
    expect(formatProgressLine(p, 8)).toBe(
      'RUNNING    [██░░░░░░]  25% | 5,000 rows | 2.5k rows/s | ETA 6s | tasks 2/10',
    );
    expect(formatPlainLine(p)).toBe('RUNNING 25% | 5,000 rows | 2.5k rows/s | ETA 6s | tasks 2/10');
  });

  it('says what it does not know yet: no pace from one look, no size before planning', () => {
    const p = new ProgressTracker().observe(job({ bytesTotal: 0, tasksTotal: null }, 'QUEUED'), 0);

    expect(formatPlainLine(p)).toBe('QUEUED ?% | 0 rows | -- rows/s | ETA -- | tasks 0/?');
  });

  it('follows the recent pace, not the average since the start', () => {
    const tracker = new ProgressTracker(10_000);
    tracker.observe(job({ rowsRead: 0, bytesRead: 0 }), 0);
    tracker.observe(job({ rowsRead: 100, bytesRead: 10 }), 10_000);
    tracker.observe(job({ rowsRead: 200, bytesRead: 20 }), 20_000);
    // Then it speeds up tenfold.
    const p = tracker.observe(job({ rowsRead: 10_200, bytesRead: 520 }), 30_000);

    expect(p.rowsPerSecond).toBeGreaterThan(500);
    expect(p.etaSeconds).toBeLessThan(20);
  });
});
