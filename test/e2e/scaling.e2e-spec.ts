import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { WORKER_GROUP_ID } from '@cloudflow/messaging';
import { Stack, eventually } from './support/stack';
import { createPipeline, submitJob, waitForJob } from './support/jobs';
import { bigCsv, kafkaAdmin } from './support/workers';

const ROWS = 150_000;

/**
 * Adding workers: the same job run with 1, 2 and 4 worker processes writes
 * byte-identical output, and with N workers the tasks are committed by N
 * different workers (the task topic's partitions are shared out). The
 * throughput figures are the benchmark's business (`npm run bench`).
 */
describe('Scaling out workers (distributed stack)', () => {
  let stack: Stack;
  let mongo: MongoClient;
  let expected: string;

  const sha256 = (path: string) =>
    createHash('sha256')
      .update(readFileSync(join(stack.dataDir, path)))
      .digest('hex');

  /** Waits until the worker group has settled with exactly `members` members. */
  const workerGroupOf = async (members: number) => {
    const admin = await kafkaAdmin();
    try {
      await eventually(
        async () => {
          const [group] = (await admin.describeGroups([WORKER_GROUP_ID])).groups;
          return group?.state === 'Stable' && group.members.length === members;
        },
        60_000,
        250,
      );
    } finally {
      await admin.disconnect();
    }
  };

  const runWith = async (workers: number) => {
    await workerGroupOf(workers);
    const output = `/scaling/out-${workers}.csv`;
    const pipeline = await createPipeline(stack.api(), {
      name: `scaling-${workers}`,
      steps: [
        { type: 'source', config: { path: '/scaling/input.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { path: output } },
      ],
    });
    const job = await submitJob(stack.api(), { pipelineId: pipeline.id });
    const done = await waitForJob(stack.api(), job.jobId, { timeoutMs: 180_000 });
    expect(done.status).toBe('SUCCEEDED');
    expect(done.progress).toMatchObject({ rowsRead: ROWS, rowsWritten: ROWS, rowsRejected: 0 });
    const commits = await mongo
      .db()
      .collection('task_commits')
      .find({ jobId: job.jobId, outcome: 'committed', kind: 'range' })
      .toArray();
    return {
      hash: sha256(output.slice(1)),
      tasks: commits.length,
      committers: new Set(commits.map((c) => c['workerId'])).size,
    };
  };

  beforeAll(async () => {
    // Small tasks, so every worker gets a share of the partitions' tasks.
    stack = await Stack.start({ TASK_TARGET_BYTES: String(256 * 1024) });
    const input = bigCsv(ROWS);
    stack.writeData('scaling/input.csv', input);
    // The header as it was, every value uppercased (quoting kept as the input has it).
    const newline = input.indexOf('\n') + 1;
    expected = createHash('sha256')
      .update(input.slice(0, newline) + input.slice(newline).toUpperCase())
      .digest('hex');
    mongo = await MongoClient.connect(stack.mongoUrl);
  });

  afterAll(async () => {
    await mongo?.close();
    await stack?.stop();
  });

  it('1, 2 and 4 workers write byte-identical output, each worker committing a share', async () => {
    const one = await runWith(1);
    await stack.addReplica('worker');
    const two = await runWith(2);
    await Promise.all([stack.addReplica('worker'), stack.addReplica('worker')]);
    const four = await runWith(4);

    // Byte for byte what one process would write.
    expect(one.hash).toBe(expected);
    expect(two.hash).toBe(one.hash);
    expect(four.hash).toBe(one.hash);
    expect(one.tasks).toBeGreaterThanOrEqual(12);
    expect([one.committers, two.committers, four.committers]).toEqual([1, 2, 4]);
  });
});
