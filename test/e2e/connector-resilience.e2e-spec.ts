import { MongoClient } from 'mongodb';
import { createConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import type { Job } from '@cloudflow/contracts';
import { testEnv, uniqueName, type ServiceProcess } from '@cloudflow/testing';
import { Stack, eventually } from './support/stack';
import { createPipeline, submitJob, waitForJob } from './support/jobs';
import { bigCsv, bigCsvRows, freezeWorkerMidTask, rowsChecksum } from './support/workers';

const ROWS = 30_000;

/**
 * Database sinks keep the exactly-once guarantee with real processes: a
 * worker frozen mid-task (its PostgreSQL transaction open) and woken after
 * its task was handed on, and a worker killed with kill -9 mid-task (its
 * MariaDB transaction cut), leave every row in the table once.
 */
describe('Database sinks under failure (distributed stack, two workers)', () => {
  let stack: Stack;
  let mongo: MongoClient;
  let worker2: ServiceProcess;
  const suffix = uniqueName('t').replaceAll('-', '_').toLowerCase();

  const runUntilRetried = async (
    pipelineId: string,
    disrupt: (worker: ServiceProcess, jobId: string) => Promise<void>,
  ): Promise<Job> => {
    const job = await submitJob(stack.api(), { pipelineId });
    await eventually(
      async () =>
        (await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`)).body.progress.tasksDone >=
        1,
      60_000,
      50,
    );
    const victim = await freezeWorkerMidTask(mongo.db(), job.jobId, [
      stack.service('worker'),
      worker2,
    ]);
    await disrupt(victim, job.jobId);
    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 180_000 });
    expect(done).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(done.attempts.retries).toBeGreaterThanOrEqual(1);
    expect(done.progress).toMatchObject({ rowsRead: ROWS, rowsWritten: ROWS });
    return done;
  };

  beforeAll(async () => {
    const env = {
      TASK_TARGET_BYTES: String(64 * 1024),
      TASK_LEASE_TIMEOUT_MS: '5000',
      JOB_SWEEP_INTERVAL_MS: '1000',
      TASK_HEARTBEAT_MS: '1000',
      TASK_RETRY_BASE_MS: '200',
    };
    stack = await Stack.start(env);
    worker2 = await stack.addReplica('worker', env);
    stack.writeData('big/input.csv', bigCsv(ROWS));
    mongo = await MongoClient.connect(stack.mongoUrl);
    for (const [type, name, url] of [
      ['postgres', 'warehouse', 'CLOUDFLOW_TEST_POSTGRES_URL'],
      ['mysql', 'shop', 'CLOUDFLOW_TEST_MYSQL_URL'],
    ] as const) {
      const res = await stack
        .api()
        .post('/api/v1/datasources', { type, name, connectionString: testEnv(url) });
      expect(res.status).toBe(201);
    }
  });

  afterAll(async () => {
    await mongo?.close();
    await stack?.stop();
  });

  it('a worker frozen with its PostgreSQL transaction open, then woken: every row once', async () => {
    const table = `resilience_${suffix}`;
    const pipeline = await createPipeline(stack.api(), {
      name: 'file to postgres',
      steps: [
        { type: 'source', config: { path: '/big/input.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { datasource: 'warehouse', table } },
      ],
    });
    let woken: ServiceProcess | undefined;
    const done = await runUntilRetried(pipeline.id, async (worker, jobId) => {
      woken = worker;
      try {
        // Its lease lapses and the task is handed on; then it wakes up, transaction still open.
        await eventually(
          async () =>
            (await stack.api().get<Job>(`/api/v1/jobs/${jobId}/status`)).body.attempts.retries >= 1,
          30_000,
          100,
        );
      } finally {
        worker.signal('SIGCONT');
      }
    });

    // The frozen attempt was fenced off in the ledger, so whatever it did when
    // woken, only one attempt of each task counts.
    const commits = await mongo
      .db()
      .collection('task_commits')
      .find({ jobId: done.jobId })
      .toArray();
    expect(commits.some((c) => c['outcome'] === 'fenced')).toBe(true);
    const committed = commits.filter((c) => c['outcome'] === 'committed').map((c) => c['taskId']);
    expect(new Set(committed).size).toBe(committed.length);
    expect(woken).toBeDefined();

    const pg = new PgClient({ connectionString: testEnv('CLOUDFLOW_TEST_POSTGRES_URL') });
    await pg.connect();
    try {
      const rows = await pg.query<{ id: string; name: string; city: string; note: string }>(
        `SELECT id, name, city, note FROM "${table}"`,
      );
      expect(rows.rowCount).toBe(ROWS);
      expect(rowsChecksum(rows.rows)).toBe(rowsChecksum(bigCsvRows(ROWS)));
      const markers = await pg.query<{ n: string }>(
        'SELECT count(*) AS n FROM cloudflow_task_commits WHERE job_id = $1',
        [done.jobId],
      );
      expect(Number(markers.rows[0]?.n)).toBe(done.progress.tasksTotal);
      await pg.query(`DROP TABLE "${table}"`);
    } finally {
      await pg.end();
    }
  });

  it('a worker killed with kill -9 mid-task, its MariaDB transaction cut: every row once', async () => {
    const table = `resilience_${suffix}`;
    const pipeline = await createPipeline(stack.api(), {
      name: 'file to mariadb',
      steps: [
        { type: 'source', config: { path: '/big/input.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { datasource: 'shop', table } },
      ],
    });
    await runUntilRetried(pipeline.id, async (worker) => {
      await worker.stop('SIGKILL');
    });

    const mysql = await createConnection(testEnv('CLOUDFLOW_TEST_MYSQL_URL'));
    try {
      const [rows] = await mysql.query(`SELECT id, name, city, note FROM \`${table}\``);
      const list = rows as { id: string; name: string; city: string; note: string }[];
      expect(list).toHaveLength(ROWS);
      expect(rowsChecksum(list)).toBe(rowsChecksum(bigCsvRows(ROWS)));
      await mysql.query(`DROP TABLE \`${table}\``);
    } finally {
      await mysql.end();
    }
  });
});
