// The distributed stack for steps 4 and 5: infrastructure (deploy/local/infra unless
// KAFKA_BROKERS and MONGO_URL are set) and the six services as processes on free ports.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, findProcesses, say, sleep } from './util.mjs';

const exec = promisify(execFile);
const INFRA = join(ROOT, 'deploy/local/infra');
export const API_KEY = 'FAKE-API-KEY-123456';
export const SERVICES = [
  'auth',
  'pipeline-registry',
  'job-scheduler',
  'datasource-broker',
  'gateway',
];
const SERVICE_PATTERN = /dist\/services\/[\w-]+\/src\/main\.js/;
const WORKER_GROUP = 'cloudflow.worker.tasks'; // WORKER_GROUP_ID in libs/shared/messaging

/** CloudFlow service processes not started by this run (another stack on the same Kafka). */
export function foreignServices(ownPids = new Set()) {
  return findProcesses(SERVICE_PATTERN).filter((p) => !ownPids.has(p.pid));
}

/** Waits (polling every 30 s, up to `timeoutMs`) until no other CloudFlow service runs. */
export async function waitForExclusiveMachine(timeoutMs = 15 * 60_000, ownPids = new Set()) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const others = foreignServices(ownPids);
    if (others.length === 0) return true;
    if (Date.now() >= until) return false;
    say(
      `${others.length} other CloudFlow service process(es) running (pids ${others.map((p) => p.pid).join(' ')});`,
    );
    say('they share Kafka consumer groups with this run: waiting 30 s for them to stop ...');
    await sleep(30_000);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function withDatabase(mongoUrl, database) {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(mongoUrl);
  if (!m) throw new Error(`MONGO_URL is not a mongodb:// URL: ${mongoUrl}`);
  return `${m[1]}/${database}${m[2] ?? ''}`;
}

/** Starts the infrastructure when needed; answers endpoints and whether this run started it. */
export async function provideInfra() {
  const { KAFKA_BROKERS, MONGO_URL } = process.env;
  if (KAFKA_BROKERS && MONGO_URL) {
    say(`infra: using KAFKA_BROKERS=${KAFKA_BROKERS} and MONGO_URL from the environment`);
    return { kafkaBrokers: KAFKA_BROKERS, mongoUrl: MONGO_URL, startedHere: false };
  }
  const wasUp = await exec('bash', [INFRA, 'status']).then(
    () => true,
    () => false,
  );
  say(
    wasUp
      ? 'infra: already running (left running at the end)'
      : 'infra: starting Kafka + FerretDB ...',
  );
  if (!wasUp) {
    await new Promise((resolve, reject) => {
      const child = spawn('bash', [INFRA, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`infra up: ${code}`)),
      );
    });
  }
  const { stdout } = await exec('bash', [INFRA, 'env']);
  const vars = Object.fromEntries(
    [...stdout.matchAll(/^(?:export\s+)?([A-Z_]+)=["']?([^"'\s]*)["']?$/gm)].map((m) => [
      m[1],
      m[2],
    ]),
  );
  return { kafkaBrokers: vars.KAFKA_BROKERS, mongoUrl: vars.MONGO_URL, startedHere: !wasUp };
}

export async function stopInfra() {
  say('infra: stopping (deploy/local/infra down)');
  await exec('bash', [INFRA, 'down']).catch((e) => say(`infra down failed: ${e.message}`));
}

/** One service process, started from dist/ like production, its output in `<logDir>/<id>.log`. */
class Service {
  constructor(name, id, port, env, logDir) {
    Object.assign(this, { name, id, port, env, logDir });
  }

  start() {
    const entry = join(ROOT, 'dist/services', this.name, 'src/main.js');
    const log = createWriteStream(join(this.logDir, `${this.id}.log`));
    const flags =
      JSON.parse(readFileSync(join(ROOT, 'tools/node-options.json'), 'utf8'))[this.name] ?? [];
    this.child = spawn(process.execPath, ['--enable-source-maps', ...flags, entry], {
      cwd: ROOT,
      env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout.pipe(log);
    this.child.stderr.pipe(log);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid() {
    return this.child?.pid;
  }

  get alive() {
    return this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitReady(timeoutMs = 120_000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.alive) throw new Error(`${this.id} exited; see ${this.logDir}/${this.id}.log`);
      const ok = await fetch(`http://127.0.0.1:${this.port}/readyz`, {
        signal: AbortSignal.timeout(2000),
      }).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(200);
    }
    throw new Error(
      `${this.id} not ready within ${timeoutMs} ms; see ${this.logDir}/${this.id}.log`,
    );
  }

  async stop(timeoutMs = 20_000) {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The services of one benchmark run, with their own database and data root. */
export class BenchStack {
  constructor({ kafkaBrokers, mongoUrl, database, dataDir, logDir, logLevel }) {
    mkdirSync(logDir, { recursive: true });
    this.logDir = logDir;
    this.mongoUrl = withDatabase(mongoUrl, database);
    this.kafkaBrokers = kafkaBrokers;
    this.services = [];
    this.env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: logLevel,
      KAFKA_BROKERS: kafkaBrokers,
      MONGO_URL: this.mongoUrl,
      CLOUDFLOW_BOOTSTRAP_API_KEY: API_KEY,
      CLOUDFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
      // The benchmark measures the engine and the scheduler, not the quotas.
      RATE_LIMIT_REQUESTS: '1000000',
      RATE_LIMIT_COSTLY_REQUESTS: '1000000',
      CLOUDFLOW_DATA_DIR: dataDir,
    };
  }

  get pids() {
    return new Set(this.services.map((s) => s.pid).filter(Boolean));
  }

  get workers() {
    return this.services.filter((s) => s.name === 'worker');
  }

  get gatewayUrl() {
    return `http://127.0.0.1:${this.services.find((s) => s.name === 'gateway').port}`;
  }

  async add(name) {
    const count = this.services.filter((s) => s.name === name).length;
    const id = count === 0 ? name : `${name}-${count + 1}`;
    const service = new Service(name, id, await freePort(), this.env, this.logDir);
    this.services.push(service);
    service.start();
    return service;
  }

  /** Starts the five services plus `workers` workers and waits until all are ready. */
  async start(workers) {
    const started = [];
    for (const name of SERVICES) started.push(await this.add(name));
    for (let i = 0; i < workers; i++) started.push(await this.add('worker'));
    await Promise.all(started.map((s) => s.waitReady()));
  }

  async stop() {
    await Promise.all(this.services.map((s) => s.stop()));
  }
}

/**
 * Waits until the worker consumer group is Stable with exactly `members` members, so a
 * timed job does not start during a rebalance; answers the last description seen.
 */
export async function waitForWorkerGroup(kafkaBrokers, members, timeoutMs = 60_000) {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({ brokers: kafkaBrokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const until = Date.now() + timeoutMs;
    let group;
    while (Date.now() < until) {
      [group] = (await admin.describeGroups([WORKER_GROUP])).groups;
      if (group.state === 'Stable' && group.members.length === members) return group;
      await sleep(250);
    }
    say(
      `WARNING: worker group ${WORKER_GROUP} is ${group?.state} with ${group?.members.length} ` +
        `member(s), expected ${members}; timing anyway`,
    );
    return group;
  } finally {
    await admin.disconnect();
  }
}
