// What the embedded store of standalone mode (ADR 0013) sustains: `npm run bench:store`.
// 100,000 small documents through insertMany in batches of 1,000, then find-by-_id
// latency, through the real MongoDB driver against the store from dist/ on a
// temporary directory. Prints figures, asserts nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { ROOT, percentile, round, say } from './util.mjs';

const exec = promisify(execFile);
const require = createRequire(import.meta.url);
const TOTAL = Number(process.env.BENCH_STORE_DOCUMENTS ?? 100_000);
const BATCH = 1_000;
const LOOKUPS = 2_000;

await exec('node', [join(ROOT, 'tools/build.mjs')]);
const { MongoClient } = require('mongodb');
const { startEmbeddedStore } = require(join(ROOT, 'dist/libs/shared/embedded-store/src/index.js'));

const dir = mkdtempSync(join(tmpdir(), 'cloudflow-bench-store-'));
const store = await startEmbeddedStore({ dir });
const client = await new MongoClient(store.url).connect();
try {
  const rows = client.db('bench').collection('rows');
  const insertStart = performance.now();
  for (let start = 0; start < TOTAL; start += BATCH) {
    await rows.insertMany(
      Array.from({ length: BATCH }, (_, i) => ({
        _id: `row_${start + i}`,
        n: start + i,
        name: `name ${start + i}`,
      })),
    );
  }
  const insertSeconds = (performance.now() - insertStart) / 1000;
  const latencies = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const id = `row_${(i * 7919) % TOTAL}`;
    const started = performance.now();
    const found = await rows.findOne({ _id: id });
    latencies.push(performance.now() - started);
    if (found?._id !== id) throw new Error(`look-up of ${id} found ${found?._id}`);
  }
  const count = await rows.estimatedDocumentCount();
  if (count !== TOTAL) throw new Error(`${count} documents stored, ${TOTAL} inserted`);
  const journal = statSync(join(dir, 'journal.cfdb')).size;
  say(
    `embedded store: ${TOTAL} inserts in ${round(insertSeconds, 2)} s (${Math.round(TOTAL / insertSeconds)}/s, batches of ${BATCH}); ` +
      `find by _id p50 ${round(percentile(latencies, 50), 2)} ms, p99 ${round(percentile(latencies, 99), 2)} ms over ${LOOKUPS}; ` +
      `journal ${round(journal / 1024 / 1024)} MiB`,
  );
} finally {
  await client.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
