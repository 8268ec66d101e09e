import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { throwError, type Observable } from 'rxjs';
import {
  AppError,
  ERROR_CODE_INFO,
  ErrorCode,
  RateLimitedError,
  type ErrorEnvelope,
} from '@cloudflow/contracts';
import { requestIdOf } from './request-id';

/** Statuses a framework may raise before our code runs, and the code each maps to. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.BadRequest,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  405: ErrorCode.MethodNotAllowed,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  414: ErrorCode.UriTooLong,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.ServiceUnavailable,
};

/** Safe words for errors Fastify raises while reading a request, by their code. */
const FASTIFY_DETAILS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "Unsupported Content-Type; send 'application/json'",
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is larger than this endpoint accepts',
  FST_ERR_CTP_EMPTY_JSON_BODY: "The body is empty but Content-Type is 'application/json'",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The body is not valid JSON',
  FST_ERR_BAD_URL: 'The URL is malformed',
  FST_ERR_ASYNC_CONSTRAINT: 'The request could not be routed',
};

/** An error object carrying the HTTP status it wants, not wrapped by Nest. */
interface StatusError {
  statusCode?: number;
  code?: string;
}

/**
 * The single place where failures become answers. Over HTTP every failure
 * becomes the error envelope; 5xx bodies hide internals and carry the
 * request id that is also in the logs. Over RPC, errors pass through
 * unchanged so the transport can carry their code to the caller.
 */
@Catch()
export class EnvelopeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const requestId = requestIdOf(request.raw);
    const { status, body } = this.toEnvelope(exception, request, requestId);
    if (
      status >= 500 &&
      !(exception instanceof AppError && exception.code === ErrorCode.ServiceUnavailable)
    ) {
      this.logger.error(
        { err: exception, requestId, method: request.method, url: request.url },
        'request failed',
      );
    }
    if (status === 401)
      void reply.header('WWW-Authenticate', 'ApiKey realm="cloudflow", Bearer realm="cloudflow"');
    if (exception instanceof RateLimitedError) {
      body.retry_after = exception.retryAfterSeconds;
      void reply.header('Retry-After', String(exception.retryAfterSeconds));
    }
    void reply.header('X-Request-Id', requestId).status(status).send(body);
  }

  private toEnvelope(
    exception: unknown,
    request: FastifyRequest,
    requestId: string,
  ): { status: number; body: ErrorEnvelope } {
    if (exception instanceof AppError) {
      return envelope(exception.code, exception.details, requestId);
    }
    if (exception instanceof HttpException) {
      return statusEnvelope(exception.getStatus(), exception.message, request, requestId);
    }
    // Only a 4xx names a caller mistake; its message may hold internals, so only
    // known codes get specific words. Any other status is ours and says nothing.
    const { statusCode, code: errorCode } = (exception ?? {}) as StatusError;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const code = CODE_BY_STATUS[statusCode] ?? ErrorCode.BadRequest;
      const details = (errorCode && FASTIFY_DETAILS[errorCode]) ?? ERROR_CODE_INFO[code].title;
      return envelope(code, details, requestId);
    }
    return envelope(ErrorCode.Internal, undefined, requestId);
  }
}

/**
 * The envelope for a failure Fastify raises while routing, before Nest sees
 * the request (a malformed URL, a path parameter over the length limit).
 */
export function frameworkErrorEnvelope(
  statusCode: number,
  message: string,
  request: FastifyRequest,
): { status: number; body: ErrorEnvelope } {
  return statusEnvelope(statusCode, message, request, requestIdOf(request.raw));
}

/** The envelope for a failure that arrives as a bare HTTP status. */
function statusEnvelope(
  statusCode: number,
  message: string,
  request: FastifyRequest,
  requestId: string,
): { status: number; body: ErrorEnvelope } {
  const code =
    CODE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest);
  return envelope(code, frameworkDetails(statusCode, message, request), requestId);
}

/**
 * Words for failures raised by the framework before our code runs. Fastify's
 * own messages (e.g. a JSON syntax error) name no internals, so 400s keep them.
 */
function frameworkDetails(
  status: number,
  message: string,
  request: FastifyRequest,
): string | undefined {
  switch (status) {
    case 400:
      return `The request could not be read: ${message.slice(0, 200)}`;
    case 404:
      return `No route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`;
    case 405:
      return `Method ${request.method} is not allowed here`;
    case 413:
      return 'The request body is larger than this endpoint accepts';
    case 414:
      return 'The URL is longer than any resource id allows';
    case 415:
      return "Unsupported Content-Type; send 'application/json'";
    default:
      return undefined;
  }
}

/** `error` is always the code's title, so callers can rely on it; specifics go in `details`. */
function envelope(
  code: ErrorCode,
  details: string | undefined,
  requestId: string,
): { status: number; body: ErrorEnvelope } {
  const info = ERROR_CODE_INFO[code];
  const body: ErrorEnvelope = { error: info.title, code };
  if (info.status >= 500) {
    body.details =
      details ??
      `An unexpected error occurred; quote correlation id ${requestId} when reporting it`;
    body.correlationId = requestId;
  } else if (details !== undefined) {
    body.details = details;
  }
  return { status: info.status, body };
}
