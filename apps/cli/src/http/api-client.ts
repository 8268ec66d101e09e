import { ErrorEnvelopeSchema, type Page } from '@cloudflow/contracts';
import type { z } from 'zod';
import { ApiError, NetworkError, UnexpectedAnswerError } from '../cli-errors';

/** Supplies the `Authorization` header, renewing it when it can. */
export interface Authorizer {
  header(): Promise<string>;
  /** After a 401: answers true when a renewed credential is worth one more try. */
  renew?(): Promise<boolean>;
}

export type QueryValues = Record<string, string | number | undefined>;

export interface RequestOptions {
  query?: QueryValues;
  json?: unknown;
  /** application/x-www-form-urlencoded, as OAuth endpoints take it. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** false: send no credential (the OAuth token endpoint, health). */
  authenticate?: boolean;
  signal?: AbortSignal;
}

export interface ApiAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The CLI's only way to the server: HTTP with Node's fetch. Failures become
 * ApiError (the envelope), NetworkError (naming the URL that could not be
 * reached) or UnexpectedAnswerError, so that commands never see a raw one.
 */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly authorizer: Authorizer | undefined,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiAnswer<T>> {
    const first = await this.send(method, path, options);
    if (first.status === 401 && options.authenticate !== false && this.authorizer?.renew) {
      // An access token can expire between two requests: renew it once and try again.
      if (await this.authorizer.renew()) {
        await first.body?.cancel();
        return this.answer<T>(await this.send(method, path, options));
      }
    }
    return this.answer<T>(first);
  }

  get<T>(path: string, query?: QueryValues, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, { ...options, query }).then((a) => a.body);
  }

  post<T>(path: string, json?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, json }).then((a) => a.body);
  }

  put<T>(path: string, json: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, json }).then((a) => a.body);
  }

  async delete(path: string, options: RequestOptions = {}): Promise<void> {
    await this.request<unknown>('DELETE', path, options);
  }

  /** Every item of a paginated list, a page at a time, following `nextCursor`. */
  async *pages<T>(
    path: string,
    query: QueryValues = {},
    signal?: AbortSignal,
  ): AsyncGenerator<T[]> {
    let cursor: string | null = null;
    do {
      const page: Page<T> = await this.get<Page<T>>(
        path,
        { ...query, ...(cursor !== null && { cursor }) },
        { signal },
      );
      yield page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** `/api/v1/pipelines/pl_1` with each id encoded: ids come from the command line. */
  static path(strings: TemplateStringsArray, ...ids: string[]): string {
    return strings.reduce(
      (out, part, i) => out + part + (i < ids.length ? encodeURIComponent(ids[i] ?? '') : ''),
      '',
    );
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    // Appended, not resolved: a server behind a path prefix keeps it.
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    if (options.authenticate !== false) {
      if (!this.authorizer) throw new Error('request needs a credential but the session has none');
      headers['Authorization'] = await this.authorizer.header();
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      return await fetch(url, { method, headers, body, signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new NetworkError(url.toString(), networkReason(error, this.timeoutMs));
    }
  }

  private async answer<T>(res: Response): Promise<ApiAnswer<T>> {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) {
      if (text && parsed === undefined) {
        throw new UnexpectedAnswerError(
          `${res.url} answered ${res.status} with a body that is not JSON`,
        );
      }
      return { status: res.status, headers: res.headers, body: parsed as T };
    }
    const envelope = ErrorEnvelopeSchema.safeParse(parsed);
    if (!envelope.success) {
      throw new UnexpectedAnswerError(
        `${res.url} answered ${res.status} ${res.statusText} (not a CloudFlow error envelope)`,
      );
    }
    let retryAfter: number | undefined;
    if (res.status === 429) {
      const header = Number(res.headers.get('retry-after'));
      retryAfter = envelope.data.retry_after ?? (Number.isFinite(header) ? header : undefined);
    }
    // The OAuth endpoints answer RFC 6749 errors: `error` is the OAuth code, the words are in error_description.
    const description = (parsed as { error_description?: unknown }).error_description;
    const data =
      typeof description === 'string' && !envelope.data.details
        ? { ...envelope.data, details: description }
        : envelope.data;
    throw new ApiError(res.status, data, res.url, retryAfter);
  }
}

/**
 * Checks that an answer has the shape the command relies on (a server of
 * another version, say), so that a mismatch is said in words rather than
 * failing somewhere later. The answer itself is kept as sent.
 */
export function expectShape<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new UnexpectedAnswerError(
      `the server's ${what} is not what this cloudflow understands${at}: ${issue?.message ?? 'invalid'} (is the CLI older or newer than the server?)`,
    );
  }
  return value as T;
}

/** Why fetch failed, in words: undici hides the system error in `cause`. */
export function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const cause = (error as { cause?: unknown }).cause as
    | { code?: string; message?: string; errors?: { code?: string }[] }
    | undefined;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is CloudFlow running there? see --url)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return cause?.message || (error instanceof Error ? error.message : String(error));
  }
}
