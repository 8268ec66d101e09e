import { ERROR_CODE_INFO, type ErrorEnvelope, type ErrorCode } from '@cloudflow/contracts';

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** The server refused, the job failed, the check found problems. */
  failure: 1,
  /** The command line itself was wrong. */
  usage: 2,
  /** Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

/** A mistake on the command line, or a missing input: the message says what to do. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An answer of the API in its error envelope (or something that was not one). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly envelope: ErrorEnvelope,
    readonly url: string,
    /** Seconds, from the body's `retry_after` or the `Retry-After` header of a 429. */
    readonly retryAfter?: number,
  ) {
    super(envelope.error);
  }

  /** An envelope made on this side, for a check done locally (`pipelines validate`). */
  static local(code: ErrorCode, details: string): ApiError {
    const info = ERROR_CODE_INFO[code];
    return new ApiError(info.status, { error: info.title, code, details }, '');
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
  }
}

/** An answer that is neither what was asked for nor CloudFlow's error envelope (a proxy's page, say). */
export class UnexpectedAnswerError extends Error {
  override readonly name = 'UnexpectedAnswerError';
}

/**
 * Ends the command with an exit code after it has said everything itself
 * (a failed job, a failed connection test, Ctrl-C).
 */
export class CommandExit extends Error {
  override readonly name = 'CommandExit';
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * What the user reads on stderr: the envelope's message and code, then its
 * details (each problem of a validation answer on its own line), what a
 * 429 says about retrying, the correlation id of a 5xx to quote. Never a
 * stack, unless CLOUDFLOW_DEBUG=1 asks for one of an unexpected error.
 */
export function describeError(error: unknown, debug: boolean): string[] {
  if (error instanceof ApiError) {
    const { envelope } = error;
    const lines = [`error: ${envelope.error} (code ${envelope.code})`];
    if (envelope.details) {
      // Validation answers (4001, 4002) list every problem, joined with '; '.
      const list = envelope.code === 4001 || envelope.code === 4002;
      for (const detail of list ? envelope.details.split('; ') : [envelope.details]) {
        lines.push(`  ${detail}`);
      }
    }
    if (error.retryAfter !== undefined) {
      lines.push(`  retry after ${error.retryAfter} s`);
    }
    if (envelope.correlationId) lines.push(`  correlation id: ${envelope.correlationId}`);
    return lines;
  }
  if (
    error instanceof NetworkError ||
    error instanceof UsageError ||
    error instanceof UnexpectedAnswerError
  ) {
    return [`error: ${error.message}`];
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = [`error: unexpected: ${message.split('\n')[0]} (CLOUDFLOW_DEBUG=1 shows more)`];
  if (debug && error instanceof Error && error.stack) {
    lines.splice(0, 1, `error: unexpected: ${message}`, ...error.stack.split('\n').slice(1));
  }
  return lines;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CommandExit) return error.code;
  if (error instanceof UsageError) return EXIT.usage;
  return EXIT.failure;
}
