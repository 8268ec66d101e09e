// What the shared rate limit costs per request (ADR 0008): `npm run bench:rate-limit`.
// Drives the gateway's SharedWindowStore (from dist/) against the real MongoDB-wire
// server, as one and as two gateway replicas. Prints figures, asserts nothing.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { provideInfra, stopInfra } from './stack.mjs';
import { ROOT, percentile, round, say } from './util.mjs';

const exec = promisify(execFile);
const require = createRequire(import.meta.url);
const SEQUENTIAL = Number(process.env.BENCH_RATE_LIMIT_REQUESTS ?? 2000);
const CONCURRENCY = 32;

await exec('node', [join(ROOT, 'tools/build.mjs')]);
const mongoose = require('mongoose');
const { SharedWindowStore } = require(
  join(ROOT, 'dist/services/gateway/src/rate-limit/shared-window.store.js'),
);

const infra = await provideInfra();
const url = new URL(infra.mongoUrl);
url.pathname = `/bench_rate_limit_${process.pid}`;
const connection = await mongoose.createConnection(url.toString()).asPromise();
const slots = connection.db.collection('rate_limit_slots');
const storeA = new SharedWindowStore(slots);
const storeB = new SharedWindowStore(slots);
await storeA.ensureIndexes();
const WINDOW_MS = 3_600_000;

async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function figures(label, samples, wallMs) {
  const line = {
    p50: round(percentile(samples, 50), 2),
    p95: round(percentile(samples, 95), 2),
    p99: round(percentile(samples, 99), 2),
    perSecond: Math.round((samples.length / wallMs) * 1000),
  };
  say(
    `${label}: p50 ${line.p50} ms, p95 ${line.p95} ms, p99 ${line.p99} ms, ${line.perSecond} requests/s`,
  );
  return line;
}

try {
  // 1. One replica, one caller, requests one after another: the usual case (a slot insert).
  let samples = [];
  let started = Date.now();
  for (let i = 0; i < SEQUENTIAL; i += 1) {
    samples.push(
      await timed(() => storeA.increment('bench/one', WINDOW_MS, 1e9, WINDOW_MS, 'default')),
    );
  }
  const sequential = figures('one replica, sequential', samples, Date.now() - started);

  // 2. Two replicas counting the same caller concurrently: duplicates cost a read and a retry.
  samples = [];
  started = Date.now();
  const stores = [storeA, storeB];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      for (let i = 0; i < SEQUENTIAL / CONCURRENCY; i += 1) {
        const store = stores[lane % 2];
        samples.push(
          await timed(() => store.increment('bench/shared', WINDOW_MS, 1e9, WINDOW_MS, 'default')),
        );
      }
    }),
  );
  const contended = figures(
    `two replicas, ${CONCURRENCY} concurrent on one key`,
    samples,
    Date.now() - started,
  );

  // 3. A caller over its limit: answered from the replica's memory, no round trip.
  for (let i = 0; i < 11; i += 1)
    await storeA.increment('bench/over', WINDOW_MS, 10, WINDOW_MS, 'default');
  samples = [];
  started = Date.now();
  for (let i = 0; i < SEQUENTIAL; i += 1) {
    samples.push(
      await timed(() => storeA.increment('bench/over', WINDOW_MS, 10, WINDOW_MS, 'default')),
    );
  }
  const refused = figures('over the limit (refusals)', samples, Date.now() - started);
  say(JSON.stringify({ sequential, contended, refused }));
} finally {
  await connection.dropDatabase().catch(() => undefined);
  await connection.close();
  if (infra.startedHere) await stopInfra();
}
