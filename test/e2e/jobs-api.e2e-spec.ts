import { MongoClient } from 'mongodb';
import type {
  CreatedApiKey,
  CreatedWorkspace,
  ErrorEnvelope,
  Job,
  JobLogEntry,
  JobResults,
  Page,
} from '@cloudflow/contracts';
import { SPEC_CREATE_PIPELINE_BODY, SPEC_UPDATE_PIPELINE_BODY } from '@cloudflow/testing';
import { Stack, STACK_MODE, eventually } from './support/stack';
import {
  EXPECTED_UPPER,
  FAKE_CSV,
  allLogLines,
  allResultRows,
  createPipeline,
  submitJob,
  waitForJob,
} from './support/jobs';

describe(`Jobs API (${STACK_MODE})`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
    stack.writeData('fake/data.csv', FAKE_CSV);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('the published example', () => {
    let pipelineId: string;
    let job: Job;

    it('submits the spec’s job body: 202 with the job id, QUEUED, and a Location', async () => {
      pipelineId = (await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY)).id;
      const res = await stack.api().post<Job>('/api/v1/jobs', { pipelineId });
      expect(res.status).toBe(202);
      expect(res.body.jobId).toMatch(/^job_[0-9a-f-]{36}$/);
      expect(res.body.status).toBe('QUEUED');
      expect(res.body).toMatchObject({
        pipelineId,
        pipelineVersion: 1,
        input: { path: '/fake/data.csv', format: 'csv' },
        output: { kind: 'collection', target: 'db://fake-database' },
      });
      expect(res.headers.get('location')).toBe(`/api/v1/jobs/${res.body.jobId}`);
      job = res.body;
    });

    it('runs to SUCCEEDED with progress, attempts and timestamps in the status', async () => {
      const done = await waitForJob(stack.api(), job.jobId);
      expect(done.status).toBe('SUCCEEDED');
      expect(done.progress).toEqual({
        tasksTotal: 1,
        tasksDone: 1,
        rowsRead: 5,
        rowsWritten: 5,
        rowsRejected: 0,
        bytesRead: Buffer.byteLength(FAKE_CSV) - 'id,name,city,amount\n'.length,
        bytesTotal: Buffer.byteLength(FAKE_CSV) - 'id,name,city,amount\n'.length,
      });
      expect(done.attempts).toEqual({ total: 1, retries: 0 });
      expect(done.error).toBeNull();
      expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
      expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
    });

    it('serves the uppercased rows as results, in input order', async () => {
      const res = await stack.api().get<JobResults>(`/api/v1/jobs/${job.jobId}/results`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        jobId: job.jobId,
        status: 'SUCCEEDED',
        output: { kind: 'collection', target: 'db://fake-database' },
        counts: { rowsRead: 5, rowsWritten: 5, rowsRejected: 0 },
        nextCursor: null,
      });
      expect(res.body.rows).toEqual(EXPECTED_UPPER);
    });

    it('wrote the rows into the workspace’s db://fake-database collection', async () => {
      const client = await MongoClient.connect(stack.mongoUrl);
      try {
        const docs = await client
          .db()
          .collection('sink.ws_default.fake-database')
          .find({ _job: job.jobId })
          .sort({ _id: 1 })
          .toArray();
        expect(docs.map(({ _id, _job, ...row }) => (void _id, void _job, row))).toEqual(
          EXPECTED_UPPER,
        );
      } finally {
        await client.close();
      }
    });

    it('pages results with limit and cursor', async () => {
      expect(await allResultRows(stack.api(), job.jobId, 2)).toEqual(EXPECTED_UPPER);
      const bad = await stack
        .api()
        .get<ErrorEnvelope>(`/api/v1/jobs/${job.jobId}/results?cursor=zzz`);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe(4002);
    });

    it('runs the spec’s PUT pipeline (reverse only) on the job’s input into the result store', async () => {
      const updated = await stack
        .api()
        .put(`/api/v1/pipelines/${pipelineId}`, SPEC_UPDATE_PIPELINE_BODY);
      expect(updated.status).toBe(200);
      const submitted = await submitJob(stack.api(), { pipelineId, input: '/fake/data.csv' });
      expect(submitted.pipelineVersion).toBe(2);
      expect(submitted.output).toEqual({ kind: 'result-store' });
      expect((await waitForJob(stack.api(), submitted.jobId)).status).toBe('SUCCEEDED');
      const rows = await allResultRows(stack.api(), submitted.jobId);
      expect(rows[0]).toEqual({ id: '1', name: 'ecalevoL adA', city: 'nodnoL', amount: '05.021' });
      expect(rows[2]).toEqual({
        id: '3',
        name: 'gniruT nalA',
        city: 'KU\nretsehcnaM',
        amount: '57.052',
      });
      expect(rows[3]).toEqual({ id: '4', name: 'rellüM ésoJ', city: 'oluaP oãS', amount: '52.57' });
    });
  });

  it('writes a file sink under the data root, assembled in input order', async () => {
    const pipeline = await createPipeline(stack.api(), {
      name: 'to-file',
      steps: [
        { type: 'source', config: { path: '/fake/data.csv' } },
        { type: 'transform', config: { operation: 'uppercase', fields: ['name'] } },
        { type: 'sink', config: { path: '/out/upper.csv' } },
      ],
    });
    const job = await submitJob(stack.api(), { pipelineId: pipeline.id });
    const done = await waitForJob(stack.api(), job.jobId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ kind: 'file', path: '/out/upper.csv', format: 'csv' });
    expect(stack.readData('out/upper.csv')).toBe(
      [
        'id,name,city,amount',
        '1,ADA LOVELACE,London,120.50',
        '2,"HOPPER, GRACE",New York,98.00',
        '3,ALAN TURING,"Manchester',
        'UK",250.75',
        '4,JOSÉ MÜLLER,São Paulo,75.25',
        '5,ÜNAL ŞAHIN,İzmir,310.00',
        '',
      ].join('\n'),
    );
    const results = await stack.api().get<JobResults>(`/api/v1/jobs/${job.jobId}/results`);
    expect(results.body).toMatchObject({ rows: [], counts: { rowsWritten: 5 } });
  });

  it('runs a multi-step pipeline: cast, filter, derive, select, to JSON Lines', async () => {
    const pipeline = await createPipeline(stack.api(), {
      name: 'multi-step',
      steps: [
        { type: 'source', config: { path: '/fake/data.csv' } },
        { type: 'transform', config: { operation: 'cast', types: { amount: 'number' } } },
        { type: 'transform', config: { operation: 'filter', expression: 'amount > 100.0' } },
        {
          type: 'transform',
          config: { operation: 'derive', field: 'label', expression: 'name + " (" + city + ")"' },
        },
        { type: 'transform', config: { operation: 'select', fields: ['id', 'label', 'amount'] } },
        { type: 'sink', config: { path: '/out/big-spenders.jsonl' } },
      ],
    });
    const job = await submitJob(stack.api(), { pipelineId: pipeline.id });
    const done = await waitForJob(stack.api(), job.jobId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.progress).toMatchObject({ rowsRead: 5, rowsWritten: 3, rowsRejected: 0 });
    const lines = stack
      .readData('out/big-spenders.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { id: '1', label: 'Ada Lovelace (London)', amount: 120.5 },
      { id: '3', label: 'Alan Turing (Manchester\nUK)', amount: 250.75 },
      { id: '5', label: 'Ünal Şahin (İzmir)', amount: 310 },
    ]);
  });

  it('reads JSON Lines input given by the job, and rejects a line that is not an object', async () => {
    const input = stack.writeData(
      'events/day.jsonl',
      [
        '{"user":"ada","amount":12.5,"tags":["a"]}',
        '{"user":"grace","amount":99}',
        '[1,2]',
        '{"user":"alan","amount":250}',
        '',
      ].join('\n'),
    );
    const pipeline = await createPipeline(stack.api(), {
      name: 'jsonl',
      errorPolicy: { mode: 'skip' },
      steps: [
        { type: 'transform', config: { operation: 'filter', expression: 'amount > 50' } },
        { type: 'transform', config: { operation: 'uppercase', fields: ['user'] } },
      ],
    });
    const done = await waitForJob(
      stack.api(),
      (await submitJob(stack.api(), { pipelineId: pipeline.id, input })).jobId,
    );
    expect(done).toMatchObject({ status: 'SUCCEEDED', input: { path: input, format: 'jsonl' } });
    expect(await allResultRows(stack.api(), done.jobId)).toEqual([
      { user: 'GRACE', amount: 99 },
      { user: 'ALAN', amount: 250 },
    ]);
    const rejected = await stack
      .api()
      .get<Page<{ line: number; reason: string }>>(`/api/v1/jobs/${done.jobId}/rejected`);
    expect(rejected.body.items).toEqual([
      expect.objectContaining({ line: 3, reason: expect.stringMatching(/object/) }),
    ]);
  });

  it('pins the pipeline version: editing or deleting the pipeline does not change a submitted job', async () => {
    const pipeline = await createPipeline(stack.api(), {
      name: 'pinned',
      steps: [
        { type: 'source', config: { path: '/fake/data.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
      ],
    });
    const job = await submitJob(stack.api(), { pipelineId: pipeline.id });
    await stack.api().put(`/api/v1/pipelines/${pipeline.id}`, {
      steps: [{ type: 'transform', config: { operation: 'lowercase' } }],
    });
    await stack.api().delete(`/api/v1/pipelines/${pipeline.id}`);
    const done = await waitForJob(stack.api(), job.jobId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', pipelineVersion: 1 });
    expect((await allResultRows(stack.api(), job.jobId))[0]).toEqual(EXPECTED_UPPER[0]);
  });

  describe('job logs', () => {
    let job: Job;
    let lines: JobLogEntry[];

    beforeAll(async () => {
      const pipelineId = (await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY)).id;
      job = await waitForJob(stack.api(), (await submitJob(stack.api(), { pipelineId })).jobId);
      expect(job.status).toBe('SUCCEEDED');
      // Read at once: a finished job's log is complete when its status says so.
      lines = (await allLogLines(stack.api(), job.jobId)).items;
    });

    it('tells the job’s story from the scheduler and the worker, oldest first', () => {
      const story = lines.map((l) => `${l.service}: ${l.message}`);
      const at = (line: string) => {
        const index = story.indexOf(line);
        expect([line, index >= 0]).toEqual([line, true]);
        return index;
      };
      expect(story[0]).toBe('job-scheduler: job accepted');
      expect(story.at(-1)).toBe('job-scheduler: job finished');
      expect(at('job-scheduler: job planned')).toBeGreaterThan(0);
      const dispatched = at('job-scheduler: task dispatched');
      const started = at('worker: task started');
      const committed = at('worker: task committed');
      expect(dispatched).toBeLessThan(started);
      expect(started).toBeLessThan(committed);
      expect(new Set(lines.map((l) => l.service))).toEqual(new Set(['job-scheduler', 'worker']));
      const times = lines.map((l) => Date.parse(l.time));
      expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    });

    it('names the task, attempt and worker, and the rows the task committed and the job finished with', () => {
      const planned = lines.find((l) => l.message === 'job planned');
      expect(planned).toMatchObject({ level: 'info', tasks: 1 });
      const dispatched = lines.find((l) => l.message === 'task dispatched')!;
      expect(dispatched).toMatchObject({ taskId: expect.stringContaining(job.jobId), attempt: 1 });
      const started = lines.find((l) => l.message === 'task started')!;
      expect(started).toMatchObject({
        taskId: dispatched.taskId,
        attempt: 1,
        workerId: expect.stringMatching(/^worker-/),
      });
      expect(lines.find((l) => l.message === 'task committed')).toEqual({
        time: expect.any(String),
        level: 'info',
        service: 'worker',
        message: 'task committed',
        taskId: dispatched.taskId,
        attempt: 1,
        workerId: started.workerId,
        rowsRead: 5,
        rowsWritten: 5,
        rowsRejected: 0,
      });
      const finished = lines.at(-1)!;
      expect(finished).toMatchObject({
        level: 'info',
        status: 'SUCCEEDED',
        rowsRead: 5,
        rowsWritten: 5,
        rowsRejected: 0,
      });
      expect(finished.durationMs).toBeGreaterThanOrEqual(0);
      expect(finished.durationMs).toBeLessThanOrEqual(
        Date.parse(job.finishedAt!) - Date.parse(job.createdAt) + 1,
      );
    });

    it('pages the log with limit and cursor: limit=2 walks every line once, in order', async () => {
      const paged = await allLogLines(stack.api(), job.jobId, 2);
      expect(paged.items).toEqual(lines);
      expect(paged.pages.slice(0, -1).every((n) => n === 2)).toBe(true);
      expect(paged.pages.length).toBe(Math.ceil(lines.length / 2));
      const first = await stack.api().get<Page<JobLogEntry>>(`/api/v1/jobs/${job.jobId}/logs`);
      expect(first.body).toEqual({ items: lines, nextCursor: null });
    });

    it('answers 400/4002 for a bad limit or cursor, including another job’s cursor', async () => {
      const other = await submitJob(stack.api(), { pipelineId: job.pipelineId });
      await waitForJob(stack.api(), other.jobId);
      const page = await stack
        .api()
        .get<Page<JobLogEntry>>(`/api/v1/jobs/${other.jobId}/logs?limit=1`);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      for (const query of [
        'limit=0',
        'limit=101',
        'limit=two',
        'cursor=zzz',
        'page=2',
        `cursor=${page.body.nextCursor}`,
      ]) {
        const res = await stack.api().get<ErrorEnvelope>(`/api/v1/jobs/${job.jobId}/logs?${query}`);
        expect([query, res.status, res.body.code]).toEqual([query, 400, 4002]);
      }
    });

    it('shows a job’s log only in its workspace, and only to a credential with the read scope', async () => {
      const workspace = await stack
        .api()
        .post<CreatedWorkspace>('/api/v1/workspaces', { name: `logs-${Date.now()}` });
      expect(workspace.status).toBe(201);
      const outsider = await stack
        .api(`ApiKey ${workspace.body.adminKey.key}`)
        .get<ErrorEnvelope>(`/api/v1/jobs/${job.jobId}/logs`);
      expect(outsider.status).toBe(404);
      expect(outsider.body.code).toBe(4040);
      const writer = await stack
        .api()
        .post<CreatedApiKey>('/api/v1/api-keys', { name: 'write only', scopes: ['write'] });
      expect(writer.status).toBe(201);
      const refused = await stack
        .api(`ApiKey ${writer.body.key}`)
        .get<ErrorEnvelope>(`/api/v1/jobs/${job.jobId}/logs`);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe(4030);
      const anonymous = await stack.api(null).get<ErrorEnvelope>(`/api/v1/jobs/${job.jobId}/logs`);
      expect(anonymous.status).toBe(401);
    });

    it('writes the same events to the process logs with the job id, the task and its attempt, and the trace', async () => {
      const ofJob = (service: 'job-scheduler' | 'worker') =>
        stack
          .service(service)
          .logLines()
          .filter((l) => l['jobId'] === job.jobId);
      await eventually(
        async () =>
          ofJob('job-scheduler').some((l) => l['msg'] === 'job finished') &&
          ofJob('worker').some((l) => l['msg'] === 'task committed'),
        5_000,
      );
      const processLines = [...ofJob('job-scheduler'), ...ofJob('worker')];
      for (const message of lines.map((l) => l.message)) {
        expect([message, processLines.some((l) => l['msg'] === message)]).toEqual([message, true]);
      }
      for (const line of processLines) {
        expect(line).toEqual(
          expect.objectContaining({
            trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
            span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
          }),
        );
        if (String(line['msg']).startsWith('task ')) {
          expect(line).toEqual(expect.objectContaining({ taskId: expect.any(String), attempt: 1 }));
        }
      }
      // The worker's task lines run in the span of the task's message.
      const workerTraces = new Set(ofJob('worker').map((l) => l['trace_id']));
      expect(workerTraces.size).toBe(1);
    });
  });

  describe('bad data', () => {
    // An unterminated quote runs to the end of the input, so it comes last.
    const BAD_CSV = ['id,name', '1,ok', '2', '3,fine', '4,"unterminated'].join('\n');

    it('fails the job at the first malformed row by default, naming the line and reason', async () => {
      const input = stack.writeData('bad/rows.csv', BAD_CSV);
      const pipeline = await createPipeline(stack.api(), {
        name: 'strict',
        steps: [{ type: 'source', config: { path: input } }],
      });
      const done = await waitForJob(
        stack.api(),
        (await submitJob(stack.api(), { pipelineId: pipeline.id })).jobId,
      );
      expect(done.status).toBe('FAILED');
      expect(done.error?.message).toMatch(/^line 3: expected 2 fields, found 1/);
      const results = await stack.api().get<ErrorEnvelope>(`/api/v1/jobs/${done.jobId}/results`);
      expect(results.status).toBe(409);
      expect(results.body.code).toBe(4090);
      // The log says which task failed, why, and that it will not be retried.
      const { items } = await allLogLines(stack.api(), done.jobId);
      expect(items.find((l) => l.service === 'worker' && l.level !== 'info')).toMatchObject({
        message: 'task failed permanently',
        attempt: 1,
        reason: expect.stringMatching(/^line 3: expected 2 fields, found 1/),
      });
      expect(items.at(-1)).toMatchObject({
        service: 'job-scheduler',
        level: 'error',
        message: 'job finished',
        status: 'FAILED',
        reason: done.error?.message,
      });
    });

    it('with errorPolicy skip, routes malformed rows to the rejected output and keeps the rest', async () => {
      const input = stack.writeData('bad/rows-skip.csv', BAD_CSV);
      const pipeline = await createPipeline(stack.api(), {
        name: 'lenient',
        errorPolicy: { mode: 'skip', maxRejected: 10 },
        steps: [{ type: 'source', config: { path: input } }],
      });
      const done = await waitForJob(
        stack.api(),
        (await submitJob(stack.api(), { pipelineId: pipeline.id })).jobId,
      );
      expect(done.status).toBe('SUCCEEDED');
      expect(done.progress).toMatchObject({ rowsRead: 4, rowsWritten: 2, rowsRejected: 2 });
      expect(await allResultRows(stack.api(), done.jobId)).toEqual([
        { id: '1', name: 'ok' },
        { id: '3', name: 'fine' },
      ]);
      const rejected = await stack
        .api()
        .get<Page<{ line: number; reason: string }>>(`/api/v1/jobs/${done.jobId}/rejected`);
      expect(rejected.status).toBe(200);
      expect(rejected.body.items.map((r) => r.line)).toEqual([3, 5]);
      expect(rejected.body.items[0]!.reason).toBe('expected 2 fields, found 1');
      expect(rejected.body.items[1]!.reason).toMatch(/quote/i);
      const rejections = (await allLogLines(stack.api(), done.jobId)).items.filter(
        (l) => l.message === 'rows rejected',
      );
      expect(rejections[0]).toMatchObject({
        service: 'worker',
        level: 'warn',
        reason: 'first at line 3; reasons in /rejected',
      });
      // The reasons (which may quote a row's values) stay in /rejected, out of the logs.
      expect(JSON.stringify(rejections)).not.toContain('expected 2 fields');
      expect(rejections.reduce((sum, l) => sum + (l.rowsRejected ?? 0), 0)).toBe(2);
    });

    it('fails a skip job that rejects more rows than maxRejected', async () => {
      const input = stack.writeData('bad/rows-max.csv', BAD_CSV);
      const pipeline = await createPipeline(stack.api(), {
        name: 'bounded',
        errorPolicy: { mode: 'skip', maxRejected: 1 },
        steps: [{ type: 'source', config: { path: input } }],
      });
      const done = await waitForJob(
        stack.api(),
        (await submitJob(stack.api(), { pipelineId: pipeline.id })).jobId,
      );
      expect(done.status).toBe('FAILED');
      expect(done.error?.message).toMatch(/more than 1 rows rejected/);
    });
  });

  describe('unusable requests', () => {
    let pipelineId: string;

    beforeAll(async () => {
      pipelineId = (await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY)).id;
    });

    it.each([
      ['a missing file', '/fake/missing.csv', /does not exist under the data root/],
      ['a path escaping the data root', '/../../etc/passwd', /'\.\.'/],
      ['an encoded escape', '/%2e%2e/%2e%2e/etc/passwd', /'\.\.'/],
      ['an s3:// input without data sources', 's3://fake-bucket/data.csv', /S3/],
      ['a directory', '/fake', /is not a file/],
    ])('refuses %s as input with 400/4001', async (_case, input, details) => {
      const res = await stack.api().post<ErrorEnvelope>('/api/v1/jobs', { pipelineId, input });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'Invalid pipeline configuration', code: 4001 });
      expect(res.body.details).toMatch(details);
    });

    it('answers 404/4040 for an unknown pipeline and 400/4002 for a malformed body', async () => {
      const unknown = await stack
        .api()
        .post<ErrorEnvelope>('/api/v1/jobs', { pipelineId: 'pl_nope' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe(4040);
      const malformed = await stack
        .api()
        .post<ErrorEnvelope>('/api/v1/jobs', { input: '/fake/data.csv' });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({
        code: 4002,
        details: "missing required field 'pipelineId'",
      });
    });

    it('answers 404/4040 for an unknown job on every job endpoint', async () => {
      for (const path of ['', '/status', '/results', '/rejected', '/logs']) {
        const res = await stack.api().get<ErrorEnvelope>(`/api/v1/jobs/job_nope${path}`);
        expect([path, res.status, res.body.code]).toEqual([path, 404, 4040]);
      }
      const cancel = await stack.api().post<ErrorEnvelope>('/api/v1/jobs/job_nope/cancel');
      expect(cancel.status).toBe(404);
    });

    it('requires credentials', async () => {
      const res = await stack.api(null).post<ErrorEnvelope>('/api/v1/jobs', { pipelineId });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(4010);
    });
  });

  it('returns the same job for a repeated Idempotency-Key, and 409 when the body differs', async () => {
    const pipelineId = (await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY)).id;
    const headers = { 'Idempotency-Key': `key-${Date.now()}` };
    const first = await stack.api().post<Job>('/api/v1/jobs', { pipelineId }, { headers });
    const second = await stack.api().post<Job>('/api/v1/jobs', { pipelineId }, { headers });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.jobId).toBe(first.body.jobId);
    const other = await stack
      .api()
      .post<ErrorEnvelope>('/api/v1/jobs', { pipelineId, input: '/fake/data.csv' }, { headers });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe(4090);
    await waitForJob(stack.api(), first.body.jobId);
  });

  it('lists jobs newest first, filtered by pipeline and by status', async () => {
    const pipelineId = (await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY)).id;
    const a = await submitJob(stack.api(), { pipelineId });
    const b = await submitJob(stack.api(), { pipelineId });
    await waitForJob(stack.api(), a.jobId);
    await waitForJob(stack.api(), b.jobId);
    const byPipeline = await stack.api().get<Page<Job>>(`/api/v1/jobs?pipelineId=${pipelineId}`);
    expect(byPipeline.body.items.map((j) => j.jobId)).toEqual([b.jobId, a.jobId]);
    const failed = await stack.api().get<Page<Job>>('/api/v1/jobs?status=FAILED&limit=100');
    expect(failed.body.items.every((j) => j.status === 'FAILED')).toBe(true);
    expect(failed.body.items.map((j) => j.jobId)).not.toContain(a.jobId);
    const bad = await stack.api().get<ErrorEnvelope>('/api/v1/jobs?status=DONE');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(4002);
  });

  it('re-runs a finished job as a new job on the same pinned version; refuses to cancel it', async () => {
    const pipelineId = (await createPipeline(stack.api(), SPEC_CREATE_PIPELINE_BODY)).id;
    const first = await waitForJob(
      stack.api(),
      (await submitJob(stack.api(), { pipelineId })).jobId,
    );
    const rerun = await stack.api().post<Job>(`/api/v1/jobs/${first.jobId}/rerun`);
    expect(rerun.status).toBe(202);
    expect(rerun.body.jobId).not.toBe(first.jobId);
    expect(rerun.body).toMatchObject({
      rerunOf: first.jobId,
      pipelineVersion: first.pipelineVersion,
    });
    const done = await waitForJob(stack.api(), rerun.body.jobId);
    expect(done.status).toBe('SUCCEEDED');
    expect(await allResultRows(stack.api(), done.jobId)).toEqual(EXPECTED_UPPER);
    const cancel = await stack.api().post<ErrorEnvelope>(`/api/v1/jobs/${first.jobId}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe(4090);
  });
});
