import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './infra';

export const SERVICE_NAMES = [
  'auth',
  'pipeline-registry',
  'job-scheduler',
  'worker',
  'datasource-broker',
  'gateway',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceProcessOptions {
  name: ServiceName;
  port: number;
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Tells replicas of one service apart in log file names, e.g. `worker-2`. */
  instance?: string;
  /** The compiled entry to run, relative to the repository (default: the service's main.js). */
  entry?: string;
}

/** The V8 flags a service is started with everywhere (tools/node-options.json). */
export function nodeOptionsOf(name: ServiceName): string[] {
  const options = JSON.parse(
    readFileSync(join(REPO_ROOT, 'tools/node-options.json'), 'utf8'),
  ) as Record<string, unknown>;
  const flags = options[name];
  return Array.isArray(flags) ? flags.map(String) : [];
}

/**
 * One CloudFlow service as its own OS process, started from the compiled
 * output (`npm run build`) exactly as in production. Its stdout (JSON logs)
 * goes to `<logDir>/<name>.log`.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private log?: WriteStream;
  private exited?: Promise<number | null>;

  constructor(readonly options: ServiceProcessOptions) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get logFile(): string {
    return join(this.options.logDir, `${this.options.instance ?? this.options.name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const entry = join(
      REPO_ROOT,
      this.options.entry ?? join('dist/services', this.options.name, 'src/main.js'),
    );
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', ...nodeOptionsOf(this.options.name), entry],
      {
        cwd: REPO_ROOT,
        env: { HOST: '127.0.0.1', ...this.options.env, PORT: String(this.options.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.child = child;
  }

  /** Waits until `GET /readyz` answers 200, or fails with the tail of the log. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited?.then((code) => (exitCode = code));
    while (Date.now() < until) {
      if (exitCode !== undefined)
        throw new Error(`${this.options.name} exited with ${exitCode}:\n${this.tail()}`);
      try {
        const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.options.name} not ready within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** Sends a signal without waiting (SIGSTOP/SIGCONT to freeze and thaw a process). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Sends a signal and waits for the process to exit; answers its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    this.log?.end();
    return code ?? null;
  }

  /** The last lines of the service's log. */
  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Every JSON line of the log, parsed; lines that are not JSON are returned as `{ raw }`. */
  logLines(): Record<string, unknown>[] {
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { raw: line };
        }
      });
  }
}
