import type { Db } from 'mongodb';
import { createHash } from 'node:crypto';
import type { ServiceProcess } from '@cloudflow/testing';
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

/** Workers (by process) holding an open claim of the job: not committed, not failed. */
export async function workersMidTask(
  db: Db,
  jobId: string,
  candidates: ServiceProcess[],
): Promise<ServiceProcess[]> {
  const committed = new Set(
    (await db.collection('task_commits').find({ jobId, outcome: 'committed' }).toArray()).map(
      (c) => c['taskId'],
    ),
  );
  const failed = new Set(
    (await db.collection('task_failures').find({ jobId }).toArray()).map((f) => f['_id']),
  );
  const claims = await db.collection('task_claims').find({ jobId }).toArray();
  return candidates.filter((w) =>
    claims.some(
      (c) =>
        String(c['workerId']).startsWith(`worker-${w.pid}-`) &&
        !committed.has(c['taskId']) &&
        !failed.has(c['_id']),
    ),
  );
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
