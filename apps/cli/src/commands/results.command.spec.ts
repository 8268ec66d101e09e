import type { JobResults } from '@cloudflow/contracts';
import { FakeCloudFlow, runCli, type RunOptions } from '../testing/cli-harness';

const JOB_ID = 'job_1';
const ROWS = [
  { id: '1', name: 'ADA LOVELACE', city: 'LONDON' },
  { id: '2', name: 'HOPPER, GRACE', city: 'NEW YORK' },
  { id: '3', name: 'ALAN "THE" TURING', city: 'MANCHESTER\nUK' },
  { id: '4', name: 'JOSÉ MÜLLER', city: 'SÃO PAULO' },
  { id: '5', name: 'ÜNAL ŞAHIN', city: 'İZMIR' },
];

describe('results', () => {
  let server: FakeCloudFlow;

  beforeEach(async () => {
    server = await new FakeCloudFlow().start();
    // Pages of at most `limit` rows; the cursor is the offset of the next one.
    server.on('GET', `/api/v1/jobs/${JOB_ID}/results`, (req) => {
      const limit = Number(req.query.get('limit') ?? 20);
      const start = Number(req.query.get('cursor') ?? 0);
      const body: JobResults = {
        jobId: JOB_ID,
        status: 'SUCCEEDED',
        output: { kind: 'result-store' },
        counts: { rowsRead: ROWS.length, rowsWritten: ROWS.length, rowsRejected: 0 },
        rows: ROWS.slice(start, start + limit),
        nextCursor: start + limit < ROWS.length ? String(start + limit) : null,
      };
      return { status: 200, body };
    });
  });

  afterEach(() => server.stop());

  const cli = (args: string[], options: RunOptions = {}) =>
    runCli(['--url', server.url, 'results', JOB_ID, ...args], {
      ...options,
      env: { CLOUDFLOW_API_KEY: 'cfk_test' },
    });

  it('streams every page as CSV, quoting what needs it', async () => {
    const result = await cli(['--format', 'csv']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      [
        'id,name,city',
        '1,ADA LOVELACE,LONDON',
        '2,"HOPPER, GRACE",NEW YORK',
        '3,"ALAN ""THE"" TURING","MANCHESTER\nUK"',
        '4,JOSÉ MÜLLER,SÃO PAULO',
        '5,ÜNAL ŞAHIN,İZMIR',
        '',
      ].join('\n'),
    );
  });

  it('prints one JSON array with --json, read a page at a time', async () => {
    const result = await cli(['--json']);

    expect(JSON.parse(result.stdout)).toEqual(ROWS);
  });

  it('prints JSON Lines, and stops at --limit', async () => {
    const result = await cli(['--format', 'jsonl', '--limit', '3']);

    expect(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual(ROWS.slice(0, 3));
    expect(server.requests.map((r) => r.query.get('limit'))).toEqual(['3']);
  });

  it('shows the page that fits the terminal as a table', async () => {
    const result = await cli([], { terminal: { columns: 60, rows: 9 } });

    // Nine lines: the header, five rows, room for the note and the prompt.
    expect(server.requests.map((r) => r.query.get('limit'))).toEqual(['5']);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^id +name +city$/);
    expect(lines[1]).toMatch(/^1 +ADA LOVELACE +LONDON$/);
    expect(lines[3]).toMatch(/^3 +ALAN "THE" TURING +MANCHESTER\\nUK$/);
  });

  it('says how many more rows there are when the first page does not hold them all', async () => {
    const result = await cli(['--limit', '2']);

    expect(result.stdout.trimEnd().split('\n')).toEqual([
      'id  name           city',
      '1   ADA LOVELACE   LONDON',
      '2   HOPPER, GRACE  NEW YORK',
      '(2 of 5 rows; 3 more: --format csv or --json prints them all)',
    ]);
  });

  it("tells where a file output's rows are", async () => {
    server.on('GET', `/api/v1/jobs/${JOB_ID}/results`, {
      status: 200,
      body: {
        jobId: JOB_ID,
        status: 'SUCCEEDED',
        output: { kind: 'file', path: '/out/upper.csv', format: 'csv' },
        counts: { rowsRead: 5, rowsWritten: 5, rowsRejected: 0 },
        rows: [],
        nextCursor: null,
      },
    });

    const table = await cli([]);
    expect(table.stdout).toBe(
      `Job ${JOB_ID} wrote its rows to /out/upper.csv (csv); CloudFlow keeps no copy to show.\n`,
    );
    const json = await cli(['--json']);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('prints the envelope for a job that has not succeeded', async () => {
    server.on('GET', `/api/v1/jobs/${JOB_ID}/results`, {
      status: 409,
      body: {
        error: 'Conflict',
        code: 4090,
        details: 'job job_1 is RUNNING; results exist once it has SUCCEEDED',
      },
    });

    const result = await cli(['--format', 'csv']);

    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'error: Conflict (code 4090)\n  job job_1 is RUNNING; results exist once it has SUCCEEDED\n',
    });
  });
});
