import type { Db } from 'mongodb';
import { createHash } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { ApiClient, ServiceProcess } from '@cloudflow/testing';
import { createPipeline } from './jobs';
import { eventually } from './stack';

/** Rows with quoted commas and embedded newlines every so often, so task boundaries are tested too. */
export function bigCsv(rows: number): string {
  const lines = ['id,name,city,note'];
  for (let i = 0; i < rows; i++) {
    const note = i % 7 === 0 ? `"line one\nline ""two"", ${i}"` : `plain note ${i}`;
    lines.push(`${i},user ${i},${i % 2 ? 'Berlin' : '"Paris, FR"'},${note}`);
  }
  return lines.join('\n') + '\n';
}

/** What `bigCsv(rows)` becomes through the `uppercase` transform. */
export function bigCsvRows(rows: number) {
  return Array.from({ length: rows }, (_, i) => ({
    id: String(i),
    name: `USER ${i}`,
    city: i % 2 ? 'BERLIN' : 'PARIS, FR',
    note: i % 7 === 0 ? `LINE ONE\nLINE "TWO", ${i}` : `PLAIN NOTE ${i}`,
  }));
}

/** Order-independent: a multiset of rows hashes the same whatever order they come in. */
export function rowsChecksum(
  rows: { id: unknown; name: unknown; city: unknown; note: unknown }[],
): string {
  let sum = 0n;
  for (const r of rows) {
    const digest = createHash('sha256')
      .update(JSON.stringify([String(r.id), r.name, r.city, r.note]))
      .digest();
    sum = (sum + digest.readBigUInt64BE(0)) % (1n << 64n);
  }
  return sum.toString(16);
}

/** A task attempt a worker claimed (`task_claims`). */
export interface Claim {
  _id: string;
  taskId: string;
  attempt: number;
  workerId: string;
  claimedAt: Date;
}

/** The claims a worker (by process) holds on a job that are neither committed nor failed. */
export async function openClaimsOf(
  db: Db,
  jobId: string,
  worker: ServiceProcess,
): Promise<Claim[]> {
  const [claims, commits, failures] = await Promise.all([
    db.collection<Claim>('task_claims').find({ jobId }).toArray(),
    db.collection('task_commits').find({ jobId, outcome: 'committed' }).toArray(),
    db.collection('task_failures').find({ jobId }).toArray(),
  ]);
  const committed = new Set(commits.map((c) => c['taskId']));
  const failed = new Set(failures.map((f) => String(f['_id'])));
  return claims.filter(
    (c) =>
      c.workerId.startsWith(`worker-${worker.pid}-`) &&
      !committed.has(c.taskId) &&
      !failed.has(c._id),
  );
}

/** Workers (by process) holding an open claim of the job: not committed, not failed. */
export async function workersMidTask(
  db: Db,
  jobId: string,
  candidates: ServiceProcess[],
): Promise<ServiceProcess[]> {
  const open = await Promise.all(candidates.map((w) => openClaimsOf(db, jobId, w)));
  return candidates.filter((_, i) => (open[i] ?? []).length > 0);
}

/** The `uppercase` pipeline of the failure suites: a CSV of `bigCsv` into `db://<sink>`. */
export async function bigCsvPipeline(
  api: ApiClient,
  name: string,
  input: string,
  sink: string,
): Promise<string> {
  const pipeline = await createPipeline(api, {
    name,
    steps: [
      { type: 'source', config: { path: input } },
      { type: 'transform', config: { operation: 'uppercase' } },
      { type: 'sink', config: { target: `db://${sink}` } },
    ],
  });
  return pipeline.id;
}

/** Every row of `bigCsv(rows)`, uppercased, is in the job's `db://<sink>` output exactly once. */
export async function expectBigCsvExactlyOnce(
  db: Db,
  sink: string,
  jobId: string,
  rows: number,
): Promise<void> {
  const written = (await db
    .collection(`sink.ws_default.${sink}`)
    .find({ _job: jobId }, { projection: { _id: 0, _job: 0 } })
    .toArray()) as unknown as Parameters<typeof rowsChecksum>[0];
  expect(written.length).toBe(rows);
  expect(new Set(written.map((r) => r.id)).size).toBe(rows);
  expect(rowsChecksum(written)).toBe(rowsChecksum(bigCsvRows(rows)));
}

/** An admin client of the test's Kafka, connected; the caller disconnects it. */
export async function kafkaAdmin(): Promise<Admin> {
  const admin = new Kafka({
    brokers: process.env['KAFKA_BROKERS']!.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  return admin;
}

/**
 * Freezes (SIGSTOP) a worker while it is in the middle of a task: a worker
 * caught between two tasks is thawed and the next busy one is tried.
 */
export async function freezeWorkerMidTask(
  db: Db,
  jobId: string,
  candidates: ServiceProcess[],
): Promise<ServiceProcess> {
  for (let tries = 0; tries < 50; tries++) {
    let busy: ServiceProcess[] = [];
    await eventually(
      async () => {
        busy = await workersMidTask(db, jobId, candidates);
        return busy.length > 0;
      },
      30_000,
      20,
    );
    const worker = busy[0] as ServiceProcess;
    worker.signal('SIGSTOP');
    // Writes it had in flight land; then its claim must still be open.
    await new Promise((r) => setTimeout(r, 300));
    if ((await workersMidTask(db, jobId, [worker])).length > 0) return worker;
    worker.signal('SIGCONT');
  }
  throw new Error('no worker could be caught in the middle of a task');
}
