import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { dirname, join } from 'node:path';
import {
  ApiClient,
  REPO_ROOT,
  SERVICE_NAMES,
  ServiceProcess,
  freePort,
  uniqueName,
  withDatabase,
  type ServiceName,
} from '@cloudflow/testing';

/** The published API's example key, used verbatim as the bootstrap admin key. */
export const SPEC_API_KEY = 'FAKE-API-KEY-123456';
export const RPC_TIMEOUT_MS = 3_000;

/**
 * Which CloudFlow the API suites run against (CLOUDFLOW_E2E_MODE): the
 * distributed stack (default) or standalone mode, one process on the
 * in-process transport and the embedded store.
 */
export type StackMode = 'distributed' | 'standalone';
export const STACK_MODE: StackMode =
  process.env['CLOUDFLOW_E2E_MODE'] === 'standalone' ? 'standalone' : 'distributed';

/** A service's view in standalone mode: the one process, its log lines filtered to the service. */
class ComposedService extends ServiceProcess {
  constructor(
    private readonly process_: ServiceProcess,
    private readonly service: ServiceName,
  ) {
    super(process_.options);
  }

  override logLines(): Record<string, unknown>[] {
    return this.process_.logLines().filter((l) => l['service'] === this.service);
  }

  override signal(signal: NodeJS.Signals): void {
    this.process_.signal(signal);
  }

  override stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null> {
    return this.process_.stop(signal, timeoutMs);
  }

  override get pid(): number | undefined {
    return this.process_.pid;
  }
}

/**
 * The whole CloudFlow under test. Distributed: six services, each its own
 * OS process, on the real Kafka and MongoDB-wire server, with a database of
 * its own. Standalone: one process with a home (store, keys, data root) of
 * its own; its embedded store is reachable at `mongoUrl` like MongoDB.
 */
export class Stack {
  readonly services = new Map<ServiceName, ServiceProcess>();
  readonly mode: StackMode = STACK_MODE;
  database = uniqueName('e2e');
  /** The MongoDB-wire server holding the stack's state, with its database. */
  mongoUrl = '';
  /** Standalone mode: the one process all services run in. */
  standalone?: ServiceProcess;
  readonly logDir: string;
  /** The stack's data root (`CLOUDFLOW_DATA_DIR`). */
  readonly dataDir: string;
  /** Extra replicas started with `addReplica`. */
  readonly replicas: ServiceProcess[] = [];
  private env: NodeJS.ProcessEnv = {};

  private constructor(logDir: string) {
    this.logDir = logDir;
    this.dataDir = join(logDir, 'data');
  }

  static async start(extraEnv: NodeJS.ProcessEnv = {}): Promise<Stack> {
    const logDir = join(REPO_ROOT, 'tmp/e2e-logs', uniqueName('run'));
    mkdirSync(logDir, { recursive: true });
    const stack = new Stack(logDir);
    mkdirSync(stack.dataDir, { recursive: true });
    if (stack.mode === 'standalone') return stack.startStandalone(extraEnv);
    stack.mongoUrl = withDatabase(process.env['MONGO_URL']!, stack.database);
    const ports = new Map<ServiceName, number>();
    for (const name of SERVICE_NAMES) ports.set(name, await freePort());
    const env: NodeJS.ProcessEnv = {
      CLOUDFLOW_DATA_DIR: stack.dataDir,
      CLOUDFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
      // The gateway forwards OAuth pages to auth; tokens name the gateway as issuer.
      AUTH_HTTP_URL: `http://127.0.0.1:${ports.get('auth')}`,
      OAUTH_ISSUER: `http://127.0.0.1:${ports.get('gateway')}`,
      PATH: process.env['PATH'],
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: process.env['KAFKA_BROKERS'],
      MONGO_URL: withDatabase(process.env['MONGO_URL']!, stack.database),
      CLOUDFLOW_BOOTSTRAP_API_KEY: SPEC_API_KEY,
      RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      SHUTDOWN_TIMEOUT_MS: '10000',
      OTEL_SDK_DISABLED: 'false',
      // Suites drive the API harder than any quota; the rate-limit suite sets its own.
      RATE_LIMIT_REQUESTS: '1000000',
      RATE_LIMIT_COSTLY_REQUESTS: '1000000',
      RATE_LIMIT_ANONYMOUS_REQUESTS: '1000000',
      // The connector test servers listen on loopback.
      DATASOURCE_ALLOW_LOOPBACK: 'true',
      ...extraEnv,
    };
    stack.env = env;
    for (const name of SERVICE_NAMES) {
      stack.services.set(name, new ServiceProcess({ name, port: ports.get(name)!, env, logDir }));
    }
    for (const service of stack.services.values()) service.start();
    await Promise.all([...stack.services.values()].map((s) => s.waitReady()));
    return stack;
  }

  /** Standalone mode: one process; suites read its store through its socket, like MongoDB. */
  private async startStandalone(extraEnv: NodeJS.ProcessEnv): Promise<Stack> {
    const port = await freePort();
    const home = join(this.logDir, 'home');
    this.database = 'cloudflow';
    this.mongoUrl = `mongodb://${encodeURIComponent(join(home, 'store', 'store.sock'))}/cloudflow`;
    const env: NodeJS.ProcessEnv = {
      CLOUDFLOW_HOME: home,
      CLOUDFLOW_DATA_DIR: this.dataDir,
      CLOUDFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
      CLOUDFLOW_BOOTSTRAP_API_KEY: SPEC_API_KEY,
      PATH: process.env['PATH'],
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      SHUTDOWN_TIMEOUT_MS: '10000',
      RATE_LIMIT_REQUESTS: '1000000',
      RATE_LIMIT_COSTLY_REQUESTS: '1000000',
      RATE_LIMIT_ANONYMOUS_REQUESTS: '1000000',
      DATASOURCE_ALLOW_LOOPBACK: 'true',
      ...extraEnv,
    };
    this.env = env;
    const standalone = new ServiceProcess({
      name: 'gateway',
      port,
      env,
      logDir: this.logDir,
      instance: 'standalone',
      entry: 'dist/apps/standalone/src/main.js',
    });
    standalone.start();
    await standalone.waitReady();
    this.standalone = standalone;
    for (const name of SERVICE_NAMES) {
      this.services.set(name, new ComposedService(standalone, name));
    }
    return this;
  }

  /** Starts one more process of a service (another worker, say) and waits until it is ready. */
  async addReplica(name: ServiceName, extraEnv: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
    const replica = new ServiceProcess({
      name,
      port: await freePort(),
      env: { ...this.env, ...extraEnv },
      logDir: this.logDir,
      instance: `${name}-${this.replicas.length + 2}`,
    });
    this.replicas.push(replica);
    replica.start();
    await replica.waitReady();
    return replica;
  }

  /** Writes a file into the data root; answers the path as the API takes it (`/a/b.csv`). */
  writeData(path: string, content: string | Buffer): string {
    const target = join(this.dataDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    return path.startsWith('/') ? path : `/${path}`;
  }

  readData(path: string): string {
    return readFileSync(join(this.dataDir, path), 'utf8');
  }

  service(name: ServiceName): ServiceProcess {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service ${name}`);
    return service;
  }

  get gateway(): ServiceProcess {
    return this.service('gateway');
  }

  /** A client of the API with the given Authorization header: the admin key by default, none for null. */
  api(authorization: string | null = `ApiKey ${SPEC_API_KEY}`): ApiClient {
    return new ApiClient(this.gateway.baseUrl, authorization ?? undefined);
  }

  /**
   * Stops every service with SIGTERM and drops the stack's database, so the
   * shared MongoDB-wire server does not grow with every run; answers each
   * service's exit code.
   */
  async stop(): Promise<Map<ServiceName, number | null>> {
    const codes = new Map<ServiceName, number | null>();
    if (this.mode === 'standalone') {
      const code = await this.gateway.stop('SIGTERM');
      for (const name of this.services.keys()) codes.set(name, code);
      return codes;
    }
    await Promise.all([
      ...[...this.services.entries()].map(async ([name, service]) =>
        codes.set(name, await service.stop('SIGTERM')),
      ),
      ...this.replicas.map((replica) => replica.stop('SIGTERM')),
    ]);
    const client = await MongoClient.connect(this.mongoUrl);
    try {
      await client.db().dropDatabase();
    } finally {
      await client.close();
    }
    return codes;
  }
}

export { eventually } from '@cloudflow/testing';
