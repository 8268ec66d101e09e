import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Job } from '@cloudflow/contracts';
import { WORKER_GROUP_ID } from '@cloudflow/messaging';
import { type ServiceProcess } from '@cloudflow/testing';
import { Stack, eventually } from './support/stack';
import { createPipeline, submitJob, waitForJob } from './support/jobs';
import {
  bigCsv,
  bigCsvPipeline,
  expectBigCsvExactlyOnce,
  freezeWorkerMidTask,
  kafkaAdmin,
} from './support/workers';

const ROWS = 60_000;
const SINK = 'resilience';
const TASK_TOPIC = 'cloudflow.tasks';

/**
 * The guarantees with real processes: a worker killed with kill -9 or frozen
 * mid-job, and replayed task messages, leave every input row in the output
 * exactly once.
 */
describe('Jobs under failure (distributed stack, two workers)', () => {
  let stack: Stack;
  let mongo: MongoClient;
  let worker2: ServiceProcess;
  let pipelineId: string;

  const expectExactlyOnce = (jobId: string) =>
    expectBigCsvExactlyOnce(mongo.db(), SINK, jobId, ROWS);

  /** Where the task topic ended before this suite: the replay goes back to here. */
  let suiteStart: { partition: number; offset: string }[] = [];

  beforeAll(async () => {
    const admin = await kafkaAdmin();
    try {
      suiteStart = (await admin.fetchTopicOffsets(TASK_TOPIC).catch(() => [])).map((p) => ({
        partition: p.partition,
        offset: p.high,
      }));
    } finally {
      await admin.disconnect();
    }
    const env = {
      TASK_TARGET_BYTES: String(128 * 1024),
      TASK_LEASE_TIMEOUT_MS: '5000',
      JOB_SWEEP_INTERVAL_MS: '1000',
      TASK_HEARTBEAT_MS: '1000',
      TASK_RETRY_BASE_MS: '200',
    };
    stack = await Stack.start(env);
    worker2 = await stack.addReplica('worker', env);
    stack.writeData('big/input.csv', bigCsv(ROWS));
    mongo = await MongoClient.connect(stack.mongoUrl);
    pipelineId = await bigCsvPipeline(stack.api(), 'resilience', '/big/input.csv', SINK);
  });

  afterAll(async () => {
    await mongo?.close();
    await stack?.stop();
  });

  it('a worker killed with kill -9 mid-job: its task is re-dispatched and every row lands exactly once', async () => {
    const job = await submitJob(stack.api(), { pipelineId });
    const running = await waitForJob(stack.api(), job.jobId, {
      statuses: ['RUNNING'],
      timeoutMs: 30_000,
    });
    expect(running.status).toBe('RUNNING');
    await eventually(
      async () => {
        const res = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
        return res.body.progress.tasksDone >= 2;
      },
      30_000,
      50,
    );
    // Caught mid-task (frozen first, so the check cannot race the kill), then killed.
    const victim = await freezeWorkerMidTask(mongo.db(), job.jobId, [
      stack.service('worker'),
      worker2,
    ]);
    const killedAt = Date.now();
    await victim.stop('SIGKILL');

    const retried = await eventually(
      async () => {
        const res = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
        return res.body.attempts.retries >= 1 || res.body.status === 'SUCCEEDED';
      },
      30_000,
      100,
    );
    expect(retried).toBeLessThan(30_000);

    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 120_000 });
    expect(done.status).toBe('SUCCEEDED');
    expect(done.attempts.retries).toBeGreaterThanOrEqual(1);
    expect(done.progress).toMatchObject({ rowsRead: ROWS, rowsWritten: ROWS, rowsRejected: 0 });
    await expectExactlyOnce(done.jobId);
    expect(Date.now() - killedAt).toBeLessThan(120_000);
  });

  it('replaying every task message (consumer offsets set back) leaves the output unchanged', async () => {
    const fileJob = await createPipeline(stack.api(), {
      name: 'replay-file',
      steps: [
        { type: 'source', config: { path: '/big/input.csv' } },
        { type: 'sink', config: { path: '/big/copy.csv' } },
      ],
    });
    const fileDone = await waitForJob(
      stack.api(),
      (await submitJob(stack.api(), { pipelineId: fileJob.id })).jobId,
    );
    expect(fileDone.status).toBe('SUCCEEDED');
    const outputPath = join(stack.dataDir, 'big/copy.csv');
    const before = { text: stack.readData('big/copy.csv'), mtime: statSync(outputPath).mtimeMs };
    expect(before.text).toBe(stack.readData('big/input.csv'));
    const dbJobs = await stack
      .api()
      .get<{ items: Job[] }>(`/api/v1/jobs?pipelineId=${pipelineId}&status=SUCCEEDED`);
    const dbJob = dbJobs.body.items[0]!;

    // Every worker leaves the group, the group's offsets go back to the start, a worker returns.
    // (whichever of them survived the kill -9 above)
    await Promise.all([stack.service('worker').stop('SIGTERM'), worker2.stop('SIGTERM')]);
    const admin = await kafkaAdmin();
    try {
      await eventually(async () => {
        const group = await admin.describeGroups([WORKER_GROUP_ID]);
        return group.groups[0]?.members.length === 0;
      }, 30_000);
      // Back to where the topic stood before this suite: every task message of its jobs again.
      if (suiteStart.length > 0) {
        await admin.setOffsets({
          groupId: WORKER_GROUP_ID,
          topic: TASK_TOPIC,
          partitions: suiteStart,
        });
      } else {
        await admin.resetOffsets({ groupId: WORKER_GROUP_ID, topic: TASK_TOPIC, earliest: true });
      }
      const replayer = await stack.addReplica('worker');
      // Wait until the group has consumed the whole topic again.
      await eventually(
        async () => {
          const [ends, committed] = await Promise.all([
            admin.fetchTopicOffsets(TASK_TOPIC),
            admin.fetchOffsets({ groupId: WORKER_GROUP_ID, topics: [TASK_TOPIC] }),
          ]);
          const done = new Map(
            committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]),
          );
          return ends.every(
            (e) => Number(e.high) === 0 || done.get(e.partition) === Number(e.high),
          );
        },
        90_000,
        500,
      );
      expect(
        replayer.logLines().some((l) => l['msg'] === 'task handled' && l['outcome'] === 'skipped'),
      ).toBe(true);
    } finally {
      await admin.disconnect();
    }

    expect(stack.readData('big/copy.csv')).toBe(before.text);
    expect(statSync(outputPath).mtimeMs).toBe(before.mtime);
    await expectExactlyOnce(dbJob.jobId);
    const after = await stack.api().get<Job>(`/api/v1/jobs/${dbJob.jobId}/status`);
    expect(after.body).toEqual(dbJob);
  });

  it('a frozen (hung) worker loses its lease, and when it wakes up it cannot commit', async () => {
    const replayer = stack.replicas[stack.replicas.length - 1]!;
    const spare = await stack.addReplica('worker', { TASK_HEARTBEAT_MS: '1000' });
    const job = await submitJob(stack.api(), { pipelineId });
    await eventually(
      async () => {
        const res = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
        return res.body.progress.tasksDone >= 1;
      },
      30_000,
      50,
    );
    const hung = await freezeWorkerMidTask(mongo.db(), job.jobId, [replayer, spare]);
    const frozenAt = Date.now();
    try {
      const retried = await eventually(
        async () => {
          const res = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
          return res.body.attempts.retries >= 1;
        },
        30_000,
        100,
      );
      expect(retried).toBeLessThan(30_000);
    } finally {
      hung.signal('SIGCONT');
    }
    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 120_000 });
    expect(done.status).toBe('SUCCEEDED');
    await expectExactlyOnce(done.jobId);
    // The woken worker noticed it had been superseded instead of committing.
    await eventually(
      async () =>
        hung.logLines().some((l) => /superseded|fenced/.test(String(l['reason'] ?? l['msg']))),
      10_000,
    );
    expect(Date.now() - frozenAt).toBeLessThan(120_000);
  });

  it('fails a job that outlives its timeout and stops its running tasks', async () => {
    const job = await submitJob(stack.api(), { pipelineId, timeoutSeconds: 1 });
    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 30_000 });
    expect(done.status).toBe('FAILED');
    expect(done.error?.message).toBe('the job did not finish within its timeout of 1 s');
    expect(done.progress.rowsWritten).toBeLessThan(ROWS);
    // Nothing keeps running for it: the workers drop its tasks.
    await eventually(async () => {
      const claims = await mongo
        .db()
        .collection('task_claims')
        .find({ jobId: job.jobId })
        .toArray();
      const settled = await mongo
        .db()
        .collection('task_failures')
        .countDocuments({ jobId: job.jobId });
      const commits = await mongo
        .db()
        .collection('task_commits')
        .countDocuments({ jobId: job.jobId });
      return claims.length <= settled + commits;
    }, 20_000);
  });

  it('cancel stops a running job within seconds', async () => {
    const job = await submitJob(stack.api(), { pipelineId });
    await eventually(
      async () => {
        const res = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
        return res.body.progress.rowsWritten > 0;
      },
      30_000,
      50,
    );
    const res = await stack.api().post<Job>(`/api/v1/jobs/${job.jobId}/cancel`);
    expect(res.status).toBe(202);
    expect(['CANCELLING', 'CANCELLED']).toContain(res.body.status);
    const cancelledIn = await eventually(
      async () => {
        const status = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
        return status.body.status === 'CANCELLED';
      },
      15_000,
      100,
    );
    expect(cancelledIn).toBeLessThan(15_000);
    const final = await stack.api().get<Job>(`/api/v1/jobs/${job.jobId}/status`);
    expect(final.body.progress.rowsWritten).toBeLessThan(ROWS);
    expect(final.body.finishedAt).not.toBeNull();
  });
});
