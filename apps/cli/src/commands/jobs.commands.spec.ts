import { EventEmitter } from 'node:events';
import type { Job } from '@cloudflow/contracts';
import { FakeCloudFlow, runCli, type RunOptions } from '../testing/cli-harness';

const JOB_ID = 'job_0199a3c2-7f1e-7000-8000-0000000000aa';

function job(
  status: Job['status'],
  progress: Partial<Job['progress']> = {},
  extra: Partial<Job> = {},
): Job {
  return {
    jobId: JOB_ID,
    status,
    pipelineId: 'pl_1',
    pipelineVersion: 2,
    input: { path: '/fake/data.csv', format: 'csv' },
    output: { kind: 'result-store' },
    progress: {
      tasksTotal: 4,
      tasksDone: 0,
      rowsRead: 0,
      rowsWritten: 0,
      rowsRejected: 0,
      bytesRead: 0,
      bytesTotal: 4000,
      ...progress,
    },
    attempts: { total: 1, retries: 0 },
    error: null,
    timeoutSeconds: 3600,
    createdAt: '2026-01-01T10:00:00.000Z',
    startedAt: '2026-01-01T10:00:01.000Z',
    finishedAt: null,
    ...extra,
  };
}

const RUN = [
  job('QUEUED', { tasksTotal: null, bytesTotal: 0 }),
  job('RUNNING', { tasksDone: 1, rowsRead: 1000, bytesRead: 1000 }),
  job('RUNNING', { tasksDone: 3, rowsRead: 3000, bytesRead: 3000 }),
  job(
    'SUCCEEDED',
    { tasksDone: 4, rowsRead: 4000, rowsWritten: 4000, bytesRead: 4000 },
    { finishedAt: '2026-01-01T10:00:05.000Z' },
  ),
];

describe('jobs commands', () => {
  let server: FakeCloudFlow;

  beforeEach(async () => {
    server = await new FakeCloudFlow().start();
  });

  afterEach(() => server.stop());

  /** The status answers a job goes through, one per poll; the last one stays. */
  const statuses = (sequence: (Job | { status: number; body: unknown })[]) => {
    let calls = 0;
    server.on('GET', `/api/v1/jobs/${JOB_ID}/status`, () => {
      const next = sequence[Math.min(calls++, sequence.length - 1)]!;
      return 'jobId' in next ? { status: 200, body: next } : next;
    });
  };

  const cli = (args: string[], options: RunOptions = {}) =>
    runCli(['--url', server.url, ...args], {
      ...options,
      env: { CLOUDFLOW_API_KEY: 'cfk_test', ...options.env },
    });

  it('submits by pipeline name and watches with plain lines when stdout is no terminal', async () => {
    server.on('GET', '/api/v1/pipelines', {
      status: 200,
      body: { items: [{ id: 'pl_1', name: 'people-upper' }], nextCursor: null },
    });
    server.on('POST', '/api/v1/jobs', { status: 202, body: RUN[0] });
    statuses(RUN);

    const result = await cli([
      'jobs',
      'submit',
      '--pipeline',
      'people-upper',
      '--input',
      '/fake/data.csv',
      '--watch',
      '--interval',
      '0.01',
    ]);

    expect(result.code).toBe(0);
    const submitted = server.requestsTo('POST', '/api/v1/jobs')[0]!;
    expect(JSON.parse(submitted.body)).toEqual({ pipelineId: 'pl_1', input: '/fake/data.csv' });
    expect(submitted.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.stdout).not.toContain('\r');
    expect(result.stdout).not.toContain('\u001b');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Submitted job ${JOB_ID} (pipeline pl_1 version 2).`);
    expect(lines[1]).toBe('QUEUED ?% | 0 rows | -- rows/s | ETA -- | tasks 0/?');
    expect(lines[2]).toMatch(/^RUNNING 25% \| 1,000 rows \| .* rows\/s \| ETA .* \| tasks 1\/4$/);
    expect(lines[3]).toMatch(/^RUNNING 75% \| 3,000 rows \| .* \| tasks 3\/4$/);
    expect(lines[4]).toMatch(/^SUCCEEDED 100% \| 4,000 rows \| .* \| ETA 0s \| tasks 4\/4$/);
    expect(lines[5]).toBe(
      `SUCCEEDED job ${JOB_ID} in 4.0s: 4,000 rows read, 4,000 written, 0 rejected`,
    );
    expect(lines[6]).toBe(`results: cloudflow results ${JOB_ID}`);
  });

  it('redraws a bar in place on a terminal', async () => {
    statuses(RUN);

    const result = await cli(['jobs', 'watch', JOB_ID, '--interval', '0.05'], {
      terminal: { columns: 100, rows: 30 },
    });

    expect(result.code).toBe(0);
    // Cursor hidden, then each redraw: to column 1, the line, erase to its end.
    expect(result.stdout).toContain('\u001b[?25l');
    expect(result.stdout).toContain('\u001b[1G');
    expect(result.stdout).toContain('\u001b[0K');
    expect(result.stdout).toMatch(/RUNNING +\[█+░+\] +25% \| 1,000 rows/);
    expect(result.stdout).toMatch(/SUCCEEDED +\[█{20}\] 100% \| 4,000 rows/);
    expect(result.stdout).toContain('\u001b[?25h');
    expect(result.stdout.trimEnd().split('\n').pop()).toBe(`results: cloudflow results ${JOB_ID}`);
  });

  it("exits 1 with the job's error when it FAILED", async () => {
    statuses([
      job(
        'FAILED',
        { rowsRead: 16 },
        {
          error: { message: 'line 17: expected 4 fields, found 2' },
          finishedAt: '2026-01-01T10:00:02.000Z',
        },
      ),
    ]);

    const result = await cli(['jobs', 'watch', JOB_ID]);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `FAILED job ${JOB_ID} in 1.0s: 16 rows read, 0 written, 0 rejected`,
    );
    expect(result.stderr).toBe('error: line 17: expected 4 fields, found 2\n');
  });

  it('exits 1 when the job was CANCELLED', async () => {
    statuses([job('CANCELLED')]);

    const result = await cli(['jobs', 'watch', JOB_ID]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: the job was cancelled\n');
  });

  it('stops watching on Ctrl-C with 130, and says the job goes on', async () => {
    statuses([RUN[1]!]);
    const signals = new EventEmitter();
    setTimeout(() => signals.emit('SIGINT'), 100);

    const result = await cli(['jobs', 'watch', JOB_ID, '--interval', '0.02'], {
      signals,
      terminal: { columns: 100 },
    });

    expect(result.code).toBe(130);
    expect(result.stderr).toBe(
      `stopped watching: job ${JOB_ID} is still RUNNING on the server (\`cloudflow jobs watch ${JOB_ID}\` to watch again, \`cloudflow jobs cancel ${JOB_ID}\` to stop it)\n`,
    );
    // The cursor is given back.
    expect(result.stdout).toContain('\u001b[?25h');
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('rides out a passing outage while watching', async () => {
    statuses([
      RUN[1]!,
      { status: 503, body: { error: 'Service unavailable', code: 5030, details: 'try again' } },
      RUN[3]!,
    ]);

    const result = await cli(['jobs', 'watch', JOB_ID, '--interval', '0.01']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`SUCCEEDED job ${JOB_ID}`);
  });

  it('prints only the final job with --json', async () => {
    server.on('POST', '/api/v1/jobs', { status: 202, body: RUN[0] });
    statuses(RUN);

    const result = await cli([
      'jobs',
      'submit',
      '--pipeline',
      'pl_1',
      '--watch',
      '--interval',
      '0.01',
      '--json',
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(RUN[3]);
  });

  it('lists, shows and cancels jobs', async () => {
    server.on('GET', '/api/v1/jobs', { status: 200, body: { items: [RUN[3]], nextCursor: null } });
    statuses([RUN[2]!]);
    server.on('POST', `/api/v1/jobs/${JOB_ID}/cancel`, { status: 202, body: job('CANCELLING') });

    const list = await cli(['jobs', 'list', '--status', 'SUCCEEDED', '--limit', '5']);
    expect(server.requestsTo('GET', '/api/v1/jobs')[0]?.query.toString()).toBe(
      'limit=5&status=SUCCEEDED',
    );
    expect(list.stdout).toMatch(/^JOB +STATUS +PIPELINE +ROWS +CREATED +TOOK\n/);
    expect(list.stdout).toMatch(
      new RegExp(`${JOB_ID} +SUCCEEDED +pl_1 v2 +4,000 +2026-01-01 10:00:00 +4.0s`),
    );

    const status = await cli(['jobs', 'status', JOB_ID]);
    expect(status.stdout).toMatch(/Status: +RUNNING/);
    expect(status.stdout).toMatch(/Progress: +75%, tasks 3\/4/);

    const cancel = await cli(['jobs', 'cancel', JOB_ID]);
    expect(cancel.stdout).toBe(`Cancelling job ${JOB_ID}: CANCELLING.\n`);

    const wrong = await cli(['jobs', 'list', '--status', 'DONE']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("argument 'DONE' is invalid");
  });
});
