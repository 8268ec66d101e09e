/**
 * Every error CloudFlow reports, with the HTTP status it maps to. The codes of
 * the published API (4001, 4010, 4040, 4290, 5000) are fixed; the others follow
 * the same scheme: HTTP status times ten plus a running digit.
 * Renumbering a code is a breaking API change.
 */
export const ErrorCode = {
  BadRequest: 4000,
  InvalidPipelineConfig: 4001,
  ValidationFailed: 4002,
  Unauthorized: 4010,
  Forbidden: 4030,
  NotFound: 4040,
  MethodNotAllowed: 4050,
  Conflict: 4090,
  PayloadTooLarge: 4130,
  UriTooLong: 4140,
  UnsupportedMediaType: 4150,
  RateLimited: 4290,
  Internal: 5000,
  ServiceUnavailable: 5030,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

interface ErrorCodeInfo {
  readonly status: number;
  readonly title: string;
}

export const ERROR_CODE_INFO: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  4000: { status: 400, title: 'Bad request' },
  4001: { status: 400, title: 'Invalid pipeline configuration' },
  4002: { status: 400, title: 'Invalid request' },
  4010: { status: 401, title: 'Unauthorized' },
  4030: { status: 403, title: 'Forbidden' },
  4040: { status: 404, title: 'Resource not found' },
  4050: { status: 405, title: 'Method not allowed' },
  4090: { status: 409, title: 'Conflict' },
  4130: { status: 413, title: 'Payload too large' },
  4140: { status: 414, title: 'URI too long' },
  4150: { status: 415, title: 'Unsupported media type' },
  4290: { status: 429, title: 'Rate limit exceeded' },
  5000: { status: 500, title: 'Internal server error' },
  5030: { status: 503, title: 'Service unavailable' },
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'number' && Object.prototype.hasOwnProperty.call(ERROR_CODE_INFO, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODE_INFO[code].status;
}
