import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { CliContext, InputStream, OutputStream } from '../cli-context';
import { run } from '../main';

/** A request the fake server received. */
export interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (
  req: Received,
) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

/**
 * A stand-in CloudFlow server on a real port (node:http), so that the CLI's
 * own HTTP code runs unchanged: routes answer canned bodies, and every
 * request is kept for the test to inspect.
 */
export class FakeCloudFlow {
  readonly requests: Received[] = [];
  private readonly routes: { method: string; path: string | RegExp; handle: Handler }[] = [];
  private server: Server | undefined;
  url = '';

  on(
    method: string,
    path: string | RegExp,
    handle: Handler | { status: number; body?: unknown; headers?: Record<string, string> },
  ): this {
    this.routes.unshift({
      method,
      path,
      handle: typeof handle === 'function' ? handle : () => handle,
    });
    return this;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.serve(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  requestsTo(method: string, path: string): Received[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const received: Received = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(received);
    for (const route of this.routes) {
      const matches =
        route.method === received.method &&
        (typeof route.path === 'string'
          ? route.path === received.path
          : route.path.test(received.path));
      if (!matches) continue;
      let answer: ReturnType<Handler>;
      try {
        answer = route.handle(received);
      } catch (error) {
        // A failed expectation inside a route: answer it, so the CLI (and the test) fails now.
        answer = {
          status: 500,
          body: { error: 'Fake server', code: 5000, details: String(error) },
        };
      }
      if (!answer) continue;
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        error: 'Resource not found',
        code: 4040,
        details: `no route ${received.method} ${received.path}`,
      }),
    );
  }
}

/** A stream that keeps what is written to it, optionally posing as a terminal. */
export class Capture extends Writable implements OutputStream {
  text = '';
  isTTY?: boolean;
  columns?: number;
  rows?: number;

  constructor(terminal?: { columns?: number; rows?: number }) {
    super();
    if (terminal) {
      this.isTTY = true;
      this.columns = terminal.columns;
      this.rows = terminal.rows;
    }
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Pose stdout as a terminal of this size. */
  terminal?: { columns?: number; rows?: number };
  /** What stdin holds; a terminal in raw mode when `keys` is set. */
  stdin?: string;
  keys?: string;
  signals?: EventEmitter;
  openBrowser?: (url: string) => void;
  now?: () => number;
  /** Called with stderr as it grows, until it returns true (drive an interactive flow). */
  onStderr?: (text: string) => boolean | void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh, empty config home. */
export function tempConfigHome(): string {
  return mkdtempSync(join(tmpdir(), 'cloudflow-cli-'));
}

/** Runs the CLI in this process with its own streams, environment and signals. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const stdout = new Capture(options.terminal);
  const stderr = new Capture();
  if (options.onStderr) {
    const watch = options.onStderr;
    let done = false;
    const write = stderr._write.bind(stderr);
    stderr._write = (chunk, encoding, callback) => {
      write(chunk, encoding, callback);
      if (!done) done = watch(stderr.text) === true;
    };
  }
  const stdin = new PassThrough() as PassThrough & InputStream;
  if (options.keys !== undefined) {
    stdin.isTTY = true;
    stdin.setRawMode = () => stdin;
    setImmediate(() => stdin.write(options.keys));
  } else {
    stdin.end(options.stdin ?? '');
  }
  const ctx: CliContext = {
    env: { XDG_CONFIG_HOME: tempConfigHome(), ...options.env },
    stdout,
    stderr,
    stdin,
    signals: options.signals ?? new EventEmitter(),
    openBrowser: options.openBrowser ?? (() => undefined),
    now: options.now ?? (() => Date.now()),
    platform: 'linux',
  };
  const code = await run(args, ctx);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
