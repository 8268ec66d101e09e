// CloudFlow connector benchmark: `npm run bench:connectors`. Jobs through data sources on the
// local test servers: an S3 CSV into a PostgreSQL table, then that table into MongoDB.
// Prints figures, asserts nothing but the row counts.
import { execFile } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureInputCsv } from './data.mjs';
import { Api } from './jobs.mjs';
import {
  BenchStack,
  provideInfra,
  stopInfra,
  waitForExclusiveMachine,
  waitForWorkerGroup,
} from './stack.mjs';
import { BENCH_DIR, MiB, ROOT, formatInt, round, say, sleep } from './util.mjs';

const exec = promisify(execFile);
const rows = Number(process.env.BENCH_CONNECTOR_ROWS ?? 300_000);
const workers = Number(process.env.BENCH_WORKERS ?? 2);
const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const cleanups = [];

async function databases() {
  const script = join(ROOT, 'deploy/local/databases');
  await exec('bash', [script, 'up'], { maxBuffer: 1 << 20 });
  const { stdout } = await exec('bash', [script, 'env']);
  return Object.fromEntries(
    [...stdout.matchAll(/^(?:export\s+)?([A-Z0-9_]+)=["']?([^"'\s]*)["']?$/gm)].map((m) => [
      m[1],
      m[2],
    ]),
  );
}

async function uploadCsv(endpoint, bucket, csv) {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIABENCH', secretAccessKey: 'bench-secret' },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'bench.csv', Body: createReadStream(csv.path) },
    }).done();
  } finally {
    s3.destroy();
  }
}

async function runJob(api, body) {
  const t0 = performance.now();
  const res = await api.request('POST', '/api/v1/jobs', body);
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${res.text}`);
  for (;;) {
    const status = await api.request('GET', `/api/v1/jobs/${res.body.jobId}/status`);
    if (FINISHED.has(status.body.status)) {
      if (status.body.status !== 'SUCCEEDED') {
        throw new Error(`job ${status.body.status}: ${JSON.stringify(status.body.error)}`);
      }
      return { job: status.body, seconds: (performance.now() - t0) / 1000 };
    }
    await sleep(100);
  }
}

async function pipeline(api, name, steps) {
  const res = await api.request('POST', '/api/v1/pipelines', { name, steps });
  if (res.status !== 201) throw new Error(`create pipeline answered ${res.status}: ${res.text}`);
  return res.body.id;
}

async function dataSource(api, body) {
  const res = await api.request('POST', '/api/v1/datasources', body);
  if (res.status !== 201) throw new Error(`create data source answered ${res.status}: ${res.text}`);
}

async function main() {
  const csv = await ensureInputCsv(rows, 'connectors');
  if (!(await waitForExclusiveMachine())) throw new Error('other CloudFlow services keep running');
  say('building (node tools/build.mjs) ...');
  await exec(process.execPath, ['tools/build.mjs'], { cwd: ROOT });
  const infra = await provideInfra();
  if (infra.startedHere) cleanups.push(stopInfra);
  const servers = await databases();
  const run = Date.now();
  const bucket = `bench-${run}`;
  const table = `bench_${run}`;
  const mongoDb = `bench_sink_${run}`;
  say(`uploading ${csv.bytes} bytes to s3://${bucket}/bench.csv ...`);
  await uploadCsv(servers.CLOUDFLOW_TEST_S3_ENDPOINT, bucket, csv);

  const dataDir = join(BENCH_DIR, 'connectors-data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const stack = new BenchStack({
    ...infra,
    database: `bench_${run}`,
    dataDir,
    logDir: join(BENCH_DIR, 'connectors-logs'),
    logLevel: 'info',
  });
  stack.env.DATASOURCE_ALLOW_LOOPBACK = 'true';
  cleanups.push(() => stack.stop());
  await stack.start(workers);
  await waitForWorkerGroup(infra.kafkaBrokers, workers);
  const api = new Api(stack.gatewayUrl);
  const endpoint = encodeURIComponent(servers.CLOUDFLOW_TEST_S3_ENDPOINT);
  await dataSource(api, {
    type: 's3',
    name: 'lake',
    connectionString: `s3://AKIABENCH:bench-secret@${bucket}/?endpoint=${endpoint}`,
  });
  await dataSource(api, {
    type: 'postgres',
    name: 'warehouse',
    connectionString: servers.CLOUDFLOW_TEST_POSTGRES_URL,
  });
  const mongoHost = new URL(infra.mongoUrl).host;
  await dataSource(api, {
    type: 'mongodb',
    name: 'documents',
    connectionString: `mongodb://${mongoHost}/${mongoDb}`,
  });

  // A keyed table, as a warehouse would have it: the second job splits it on the key.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: servers.CLOUDFLOW_TEST_POSTGRES_URL });
  await client.connect();
  cleanups.push(() => client.end());
  await client.query(
    `CREATE TABLE "${table}" (id bigint PRIMARY KEY, name text, email text, city text,
                              amount numeric(12, 2), note text)`,
  );
  const toPg = await pipeline(api, 's3 to postgres', [
    { type: 'sink', config: { datasource: 'warehouse', table } },
  ]);
  const toMongo = await pipeline(api, 'postgres to mongodb', [
    { type: 'source', config: { datasource: 'warehouse', table } },
    { type: 'sink', config: { datasource: 'documents', collection: 'bench' } },
  ]);
  say(`job 1: s3://${bucket}/bench.csv -> PostgreSQL ${table} (${workers} workers) ...`);
  const first = await runJob(api, { pipelineId: toPg, input: `s3://${bucket}/bench.csv` });
  say(`job 2: PostgreSQL ${table} -> MongoDB ${mongoDb}.bench ...`);
  const second = await runJob(api, { pipelineId: toMongo });

  const { MongoClient } = await import('mongodb');
  const mongo = await MongoClient.connect(infra.mongoUrl);
  let counts;
  try {
    const inPg = Number((await client.query(`SELECT count(*) AS n FROM "${table}"`)).rows[0].n);
    const inMongo = await mongo.db(mongoDb).collection('bench').countDocuments();
    counts = { inPg, inMongo };
    await client.query(`DROP TABLE "${table}"`);
    await mongo.db(mongoDb).dropDatabase();
    await mongo.db(`bench_${run}`).dropDatabase();
  } finally {
    await mongo.close();
  }
  const figure = (label, result) =>
    `${label.padEnd(34)}${formatInt(Math.round(rows / result.seconds))} rows/s  ` +
    `${round(csv.bytes / MiB / result.seconds, 1)} MiB/s of CSV  (${result.seconds.toFixed(1)} s, ` +
    `${result.job.progress.tasksTotal} tasks)`;
  process.stdout.write(
    [
      '',
      `CloudFlow connector benchmark (${availableParallelism()} cores, ${workers} workers, ` +
        `${formatInt(rows)} rows, ${round(csv.bytes / MiB, 1)} MiB)`,
      figure('S3 CSV -> PostgreSQL table', first),
      figure('PostgreSQL table -> MongoDB', second),
      `${'rows in PostgreSQL / MongoDB'.padEnd(34)}${formatInt(counts.inPg)} / ${formatInt(counts.inMongo)}` +
        (counts.inPg === rows && counts.inMongo === rows ? '  (exact)' : '  (MISMATCH)'),
      '',
    ].join('\n'),
  );
  if (counts.inPg !== rows || counts.inMongo !== rows) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  say(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  while (cleanups.length > 0)
    await cleanups
      .pop()()
      .catch(() => undefined);
}
