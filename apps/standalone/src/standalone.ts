import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { z } from 'zod';
import { startEmbeddedStore, type EmbeddedStoreServer } from '@cloudflow/embedded-store';
import { InProcessBus, kafkaLogSink } from '@cloudflow/messaging';
import { freeLoopbackPort } from '@cloudflow/config';
import { startComposedService, type ServiceDefinition } from '@cloudflow/runtime';
import { authService } from '@cloudflow/service-auth';
import { datasourceBrokerService } from '@cloudflow/service-datasource-broker';
import { gatewayService } from '@cloudflow/service-gateway';
import { jobSchedulerService } from '@cloudflow/service-job-scheduler';
import { pipelineRegistryService } from '@cloudflow/service-pipeline-registry';
import { workerService } from '@cloudflow/service-worker';

export interface StandaloneOptions {
  /** The gateway's port (default PORT or 8080). */
  port?: number;
  /** The gateway's address (default HOST or 127.0.0.1: only this machine). */
  host?: string;
  /** Where the store, keys and (by default) the data root live; default CLOUDFLOW_HOME. */
  home?: string;
  /** The data root (default CLOUDFLOW_DATA_DIR or <home>/data). */
  dataDir?: string;
  /** Worker members of the task group (default STANDALONE_WORKERS or 2). */
  workers?: number;
  /** Read for every setting not given above; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface StandaloneServer {
  /** The API base, e.g. http://127.0.0.1:8080/api/v1. */
  readonly apiUrl: string;
  /** The gateway's origin, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string;
  /** The workspace admin key (the bootstrap key). */
  readonly apiKey: string;
  readonly home: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Where standalone mode keeps its state unless told otherwise. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env['CLOUDFLOW_HOME']) return resolve(env['CLOUDFLOW_HOME']);
  const dataHome = env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share');
  return join(dataHome, 'cloudflow');
}

/**
 * Standalone mode: the six services in one process, each with its own
 * modules and config as in the distributed deployment, on the in-process
 * bus instead of Kafka and the embedded store instead of MongoDB. Only the
 * gateway (and auth's sign-in pages, which the gateway forwards) listen.
 *
 * State lives under `home`: the store's journal, the secret key that seals
 * secrets at rest and the admin key, both generated on first start (mode
 * 0600), so a restart keeps pipelines, jobs, results and credentials.
 */
export async function startStandalone(options: StandaloneOptions = {}): Promise<StandaloneServer> {
  const env = options.env ?? process.env;
  const home = options.home ? resolve(options.home) : defaultHome(env);
  await mkdir(home, { recursive: true, mode: 0o700 });
  // Keys and the store live here: owner only, also when the directory already existed.
  await chmod(home, 0o700);
  const dataDir = resolve(options.dataDir ?? env['CLOUDFLOW_DATA_DIR'] ?? join(home, 'data'));
  await seedSamples(dataDir);
  const secretKey =
    env['CLOUDFLOW_SECRET_KEY'] ||
    (await keptSecret(join(home, 'secret.key'), () => randomBytes(32).toString('base64')));
  const apiKey =
    env['CLOUDFLOW_BOOTSTRAP_API_KEY'] ||
    (await keptSecret(
      join(home, 'admin-api-key'),
      () => `cfk_${randomBytes(24).toString('base64url')}`,
    ));
  const host = options.host ?? env['HOST'] ?? '127.0.0.1';
  const port = options.port ?? Number(env['PORT'] || 8080);
  const workers = options.workers ?? Number(env['STANDALONE_WORKERS'] || 2);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new Error(
      `STANDALONE_WORKERS must be a whole number from 1 to 64, not ${env['STANDALONE_WORKERS']}`,
    );
  }
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const started: INestApplication[] = [];
  let store: EmbeddedStoreServer | undefined;
  const stop = async () => {
    // The gateway first (no new requests), the store last (everyone's state);
    // one service failing to close does not keep the others or the store open.
    const failures: unknown[] = [];
    for (const app of started.reverse()) await app.close().catch((e: unknown) => failures.push(e));
    await store?.close().catch((e: unknown) => failures.push(e));
    if (failures.length > 0) {
      throw new AggregateError(failures, 'some parts of standalone CloudFlow did not stop cleanly');
    }
  };
  try {
    // On a socket only this user can open: the store has no authentication.
    store = await startEmbeddedStore({
      dir: join(home, 'store'),
      socketPath: join(home, 'store', 'store.sock'),
    });
    const bus = new InProcessBus({
      taskPartitions: Number(env['KAFKA_TASK_PARTITIONS'] || 12),
      log: kafkaLogSink('bus'),
    });
    const authPort = await freeLoopbackPort();
    const common: NodeJS.ProcessEnv = {
      // On a laptop, data sources usually live on this machine or its network.
      DATASOURCE_ALLOW_LOOPBACK: 'true',
      DATASOURCE_ALLOW_PRIVATE: 'true',
      LOG_LEVEL: 'warn',
      // /metrics shares the API's port here: served on this machine only, unless asked for.
      METRICS_ENABLED: isLoopback(host) ? 'true' : 'false',
      ...withoutInfrastructure(env),
      MONGO_URL: store.url,
      CLOUDFLOW_DATA_DIR: dataDir,
      CLOUDFLOW_SECRET_KEY: secretKey,
      CLOUDFLOW_BOOTSTRAP_API_KEY: apiKey,
      AUTH_HTTP_URL: `http://127.0.0.1:${authPort}`,
      OAUTH_ISSUER: env['OAUTH_ISSUER'] ?? baseUrl,
    };
    const compose = async <S extends z.ZodObject>(
      definition: ServiceDefinition<S>,
      extra: NodeJS.ProcessEnv,
      listen: boolean,
    ) => {
      const app = await startComposedService(definition, {
        env: { ...common, ...extra },
        bus,
        listen,
      });
      started.push(app);
    };
    // Whoever is called starts before whoever calls; the gateway last.
    await compose(authService, { HOST: '127.0.0.1', PORT: String(authPort) }, true);
    await compose(pipelineRegistryService, {}, false);
    await compose(datasourceBrokerService, {}, false);
    await compose(jobSchedulerService, {}, false);
    // Stopping hands running tasks back at once: they resume from the store on the next start.
    const worker = { TASK_DRAIN_TIMEOUT_MS: env['TASK_DRAIN_TIMEOUT_MS'] || '0' };
    for (let i = 0; i < workers; i++) await compose(workerService, worker, false);
    await compose(gatewayService, { HOST: host, PORT: String(port) }, true);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { apiUrl: `${baseUrl}/api/v1`, baseUrl, apiKey, home, dataDir, stop };
}

/** The sample input of the published example (/fake/data.csv), unless the data root has one. */
async function seedSamples(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const samples = join(__dirname, '../../../../samples/data');
  const fromSource = join(__dirname, '../../../samples/data');
  const source = existsSync(samples) ? samples : fromSource;
  if (!existsSync(source)) return;
  await cp(join(source, 'fake'), join(dataDir, 'fake'), {
    recursive: true,
    force: false,
    errorOnExist: false,
  });
}

/** A secret generated once and kept in `path`, readable by its owner only. */
async function keptSecret(path: string, generate: () => string): Promise<string> {
  try {
    const kept = (await readFile(path, 'utf8')).trim();
    if (kept) {
      await chmod(path, 0o600);
      return kept;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = generate();
  await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return value;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Standalone mode brings its own transport and store: external addresses are not used. */
function withoutInfrastructure(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  delete rest['KAFKA_BROKERS'];
  delete rest['MONGO_URL'];
  delete rest['PORT'];
  delete rest['HOST'];
  return rest;
}
