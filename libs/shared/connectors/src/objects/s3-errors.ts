import { ConnectorError } from '../connector-error';
import { PolicyError, ResolveError } from '../network-policy';

/** The object (or bucket) a request was about, for messages. */
export interface S3Target {
  bucket: string;
  key?: string;
}

interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Error codes S3 answers with 4xx that still say "try again later". */
const TRANSIENT_CODES = new Set([
  'RequestTimeout',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestTimeTooSkewed',
]);

/** Socket errors that mean the server was not reached, or the connection broke. */
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening at the S3 endpoint (connection refused)',
  ECONNRESET: 'the S3 server closed the connection',
  EPIPE: 'the S3 server closed the connection',
  ETIMEDOUT: 'the S3 server did not answer in time',
  EHOSTUNREACH: 'the S3 endpoint cannot be reached from here',
  ENETUNREACH: 'the S3 endpoint cannot be reached from here',
  EAI_AGAIN: 'the S3 endpoint could not be resolved',
};

const nameOf = ({ bucket, key }: S3Target): string =>
  key === undefined ? `the bucket '${bucket}'` : `the object 's3://${bucket}/${key}'`;

/** Whether `error` is the caller's own cancellation, which is passed on unchanged. */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error as S3ErrorShape | undefined)?.name === 'AbortError';
}

/**
 * What a failed S3 request means for a job, in plain words: permanent when
 * retrying cannot help (the object or bucket is missing, the credentials are
 * refused, the object changed), transient for the network, timeouts and
 * server errors. Built from the error's code and HTTP status only, so the
 * server's XML never reaches a user, and nothing here knows the secret.
 */
export function s3Failure(error: unknown, target: S3Target): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (error instanceof PolicyError) return new ConnectorError(error.message, true);
  if (error instanceof ResolveError) return new ConnectorError(error.message, false);
  const { name = '', $metadata } = (error ?? {}) as S3ErrorShape;
  const status = $metadata?.httpStatusCode;
  if (status === undefined) return networkFailure(name, socketCode(error as S3ErrorShape));
  return byCode(name, target) ?? byStatus(status, name, target);
}

function byCode(name: string, target: S3Target): ConnectorError | undefined {
  switch (name) {
    case 'NoSuchKey':
      return new ConnectorError(`${nameOf(target)} does not exist`, true);
    case 'NoSuchBucket':
      return new ConnectorError(`the bucket '${target.bucket}' does not exist`, true);
    case 'InvalidAccessKeyId':
      return new ConnectorError('the S3 server does not know the access key', true);
    case 'SignatureDoesNotMatch':
      return new ConnectorError('the secret key does not match the access key', true);
    case 'AccessDenied':
      return new ConnectorError(`the credentials may not use ${nameOf(target)}`, true);
    case 'PreconditionFailed':
      return changed(target);
    default:
      return undefined;
  }
}

/** Answers without a body (HEAD) carry no error code: the status says enough. */
function byStatus(status: number, name: string, target: S3Target): ConnectorError {
  if (status === 403) {
    return new ConnectorError(
      `access to ${nameOf(target)} was refused: the access key or its secret is wrong, or they may not use it`,
      true,
    );
  }
  if (status === 404) {
    return new ConnectorError(
      target.key === undefined
        ? `the bucket '${target.bucket}' does not exist`
        : `${nameOf(target)} does not exist (or its bucket does not)`,
      true,
    );
  }
  if (status === 412) return changed(target);
  if (status === 416) {
    return new ConnectorError(`the bytes asked for lie outside ${nameOf(target)}`, true);
  }
  const answered = /^[A-Za-z]{1,64}$/.test(name) && name !== 'Unknown' ? `${name}, ` : '';
  if (status >= 500 || status === 408 || status === 429 || TRANSIENT_CODES.has(name)) {
    return new ConnectorError(
      `the S3 server could not serve ${nameOf(target)} just now (${answered}HTTP ${status})`,
      false,
    );
  }
  return new ConnectorError(
    `the S3 server refused the request for ${nameOf(target)} (${answered}HTTP ${status})`,
    true,
  );
}

/**
 * The socket error's code. The SDK rebuilds what it does not recognise as an
 * Error of its own realm (under jest, every socket error) as a bare Error
 * whose message is the only trace of the code: read it from there then.
 */
function socketCode(error: S3ErrorShape | undefined): string {
  return error?.code ?? /\b(E[A-Z]{3,})\b/.exec(error?.message ?? '')?.[1] ?? '';
}

function networkFailure(name: string, code: string): ConnectorError {
  if (name === 'TimeoutError' || code === 'TimeoutError') {
    return new ConnectorError('the S3 server did not answer in time', false);
  }
  return new ConnectorError(NETWORK_WORDS[code] ?? 'the S3 server could not be reached', false);
}

function changed(target: S3Target): ConnectorError {
  return new ConnectorError(
    `${nameOf(target)} changed since the job was submitted (its ETag is different)`,
    true,
  );
}
