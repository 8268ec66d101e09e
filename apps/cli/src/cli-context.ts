import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';

/** A stream the CLI writes to: a terminal (with its size) or a pipe or file. */
export interface OutputStream extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * Everything the commands take from the process, so that tests run them in
 * one process with their own streams, environment and signals.
 */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  /** Emits 'SIGINT' and 'SIGTERM': the process in real runs. */
  signals: EventEmitter;
  /** Opens a URL in the user's browser; failures are ignored. */
  openBrowser(url: string): void;
  /** Clock and pause, replaceable in tests. */
  now(): number;
  platform: NodeJS.Platform;
}

export function processContext(): CliContext {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    signals: process,
    openBrowser: (url) => openWithPlatformOpener(url, process.platform, process.env),
    now: () => Date.now(),
    platform: process.platform,
  };
}

/**
 * The desktop's own way to open a URL. Nothing is opened where there is no
 * desktop (no display on Linux: a server, CI, an SSH session), since the
 * fallbacks some openers take there are text browsers that would fight the
 * CLI for the terminal; the printed URL is always there to copy.
 */
export function openWithPlatformOpener(
  url: string,
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): void {
  let command: string;
  let args: string[];
  if (platform === 'darwin') {
    [command, args] = ['open', [url]];
  } else if (platform === 'win32') {
    // `start` is a cmd built-in; the empty title keeps a quoted URL from becoming the title.
    [command, args] = ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]];
  } else {
    if (!env['DISPLAY'] && !env['WAYLAND_DISPLAY']) return;
    [command, args] = ['xdg-open', [url]];
  }
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener: the user copies the printed URL.
  }
}
