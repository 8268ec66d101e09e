import { ERROR_CODE_INFO, ErrorCode, isErrorCode } from './error-codes';

/**
 * A failure CloudFlow explains to its caller. Services throw it; the transport
 * carries it across Kafka unchanged; the gateway maps it to the envelope.
 * `details` is shown to the caller, so it must never contain secrets or internals.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly details?: string,
    message?: string,
  ) {
    super(message ?? ERROR_CODE_INFO[code].title);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_CODE_INFO[this.code].status;
  }

  static notFound(kind: string, id: string): AppError {
    return new AppError(ErrorCode.NotFound, `${kind} '${id}' was not found`);
  }

  static unauthorized(details: string): AppError {
    return new AppError(ErrorCode.Unauthorized, details);
  }

  static invalidPipeline(details: string): AppError {
    return new AppError(ErrorCode.InvalidPipelineConfig, details);
  }

  static unavailable(details: string): AppError {
    return new AppError(ErrorCode.ServiceUnavailable, details);
  }

  /** The wire form carried in RPC replies. */
  toWire(): WireError {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromWire(wire: WireError): AppError {
    // An unknown code is an internal failure, worded as one.
    if (!isErrorCode(wire.code)) return new AppError(ErrorCode.Internal);
    return new AppError(wire.code, wire.details, wire.message);
  }
}

/**
 * A request over its rate limit: 429 with `retry_after` (whole seconds until
 * the caller may try again) in the body and a `Retry-After` header.
 */
export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    details = `Too many requests; try again in ${retryAfterSeconds} s`,
  ) {
    super(ErrorCode.RateLimited, details);
    this.name = 'RateLimitedError';
  }
}

export interface WireError {
  code: number;
  message: string;
  details?: string;
}
