import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { PolicyError, type NetworkPolicy } from '../network-policy';
import { checkS3Endpoint, s3Client } from '../s3';
import { isAbort, s3Failure, type S3Target } from './s3-errors';

/** How S3 may be reached: through the network policy, each wait bounded, cancellable. */
export interface S3Access {
  policy: NetworkPolicy;
  /** Bounds connecting and each silence of the server (not a whole transfer). */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface S3ObjectStat {
  bucket: string;
  key: string;
  size: number;
  /** As the server gives it (quoted): what `s3ByteSource` reads must still carry. */
  etag: string;
  /** ISO 8601. */
  lastModified: string;
}

/** One version of an object: its ETag pins the bytes every read returns. */
export interface S3ObjectVersion {
  /** The data source's bucket when absent. */
  bucket?: string;
  key: string;
  size: number;
  etag: string;
}

/** Bytes of one object version, read in ranges (the engine's ByteSource, plus the size). */
export interface S3ByteSource {
  readonly size: number;
  /** `s3://bucket/key`, for messages. */
  readonly name: string;
  read(start: number, end: number, signal?: AbortSignal): AsyncIterable<Buffer>;
}

/**
 * HEAD: the object's size, ETag and last-modified; with `expectEtag`, refuses
 * (permanent ConnectorError saying it changed since the job was submitted) if
 * different, so a job never runs on other bytes than the ones it was given.
 */
export async function statS3Object(
  config: ConnectionConfig,
  key: string,
  access: S3Access & { expectEtag?: string },
): Promise<S3ObjectStat> {
  const target = { bucket: bucketOf(config), key };
  const head = await withClient(config, access, target, (client) =>
    client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }), {
      abortSignal: access.signal,
    }),
  );
  const etag = head.ETag ?? '';
  if (access.expectEtag !== undefined && !sameEtag(etag, access.expectEtag)) {
    throw new ConnectorError(
      `the object 's3://${target.bucket}/${key}' changed since the job was submitted (its ETag is different)`,
      true,
    );
  }
  return {
    ...target,
    size: head.ContentLength ?? 0,
    etag,
    lastModified: head.LastModified?.toISOString() ?? '',
  };
}

/**
 * A byte source over one object version: read(start, end) streams bytes
 * [start, end) (end exclusive, clamped to size) with a ranged GET conditioned
 * on the ETag (If-Match), so bytes of a different version are never mixed in:
 * a replaced object fails the read (permanently) instead. Chunks are passed on
 * as the server sends them, never gathered; leaving the loop early, or an
 * abort, closes the connection.
 */
export function s3ByteSource(
  config: ConnectionConfig,
  object: S3ObjectVersion,
  access: S3Access,
): S3ByteSource {
  const target = { bucket: object.bucket ?? bucketOf(config), key: object.key };
  // One client for every range; its connections are not kept alive, so nothing lingers.
  let client: S3Client | undefined;
  const clientFor = (): S3Client => {
    checkEndpoint(config, access.policy);
    client ??= s3Client(config, access.policy, access.timeoutMs);
    return client;
  };
  return {
    size: object.size,
    name: `s3://${target.bucket}/${target.key}`,
    read(start, end, signal) {
      checkRange(start, end);
      const range = { start, stop: Math.min(end, object.size) };
      return readRange(clientFor, target, object.etag, range, anySignal(access.signal, signal));
    },
  };
}

/**
 * Uploads a local file to an object, multipart for large files (the SDK's
 * Upload: parts of 5 MiB or more, four in flight), streaming: at most those
 * parts are in memory, never the whole file. Reads exactly the size the file
 * had when opened, and returns the object's ETag and that size.
 */
export async function uploadS3Object(
  config: ConnectionConfig,
  key: string,
  filePath: string,
  access: S3Access & { contentType?: string },
): Promise<{ etag: string; bytes: number }> {
  const target = { bucket: bucketOf(config), key };
  const file = await open(filePath, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new ConnectorError(`the file to upload cannot be read (${error.code ?? 'error'})`, true);
  });
  try {
    const { size } = await file.stat();
    const body =
      size === 0
        ? new Uint8Array(0)
        : file.createReadStream({ start: 0, end: size - 1, autoClose: false });
    const result = await withClient(config, access, target, async (client) => {
      const upload = new Upload({
        client,
        params: {
          Bucket: target.bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          ...(access.contentType && { ContentType: access.contentType }),
        },
      });
      return untilAborted(upload.done(), access.signal, () => void upload.abort());
    });
    return { etag: result.ETag ?? '', bytes: size };
  } finally {
    await file.close();
  }
}

async function* readRange(
  clientFor: () => S3Client,
  target: S3Target & { key: string },
  etag: string,
  { start, stop }: { start: number; stop: number },
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  if (start >= stop) return; // nothing to read, so nothing to ask
  let body: Readable | undefined;
  const onAbort = (): void => void body?.destroy(abortError(signal));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await clientFor().send(
      new GetObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        Range: `bytes=${start}-${stop - 1}`,
        IfMatch: etag,
      }),
      { abortSignal: signal },
    );
    if (!(response.Body instanceof Readable)) {
      throw new ConnectorError('the S3 server answered without a body', false);
    }
    body = response.Body;
    if (response.ContentLength !== stop - start) {
      // A server that ignored the range would hand over the wrong bytes.
      throw new ConnectorError(
        `the S3 server answered ${response.ContentLength ?? 'an unknown number of'} bytes for a range of ${stop - start}`,
        false,
      );
    }
    for await (const chunk of body) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  } catch (error) {
    throw isAbort(error, signal) ? error : s3Failure(error, target);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    body?.destroy();
  }
}

/**
 * A client for one piece of work, destroyed after it. The endpoint is checked
 * against the network policy first, and errors become ConnectorErrors (an
 * abort stays what it is).
 */
async function withClient<T>(
  config: ConnectionConfig,
  access: S3Access,
  target: S3Target,
  work: (client: S3Client) => Promise<T>,
): Promise<T> {
  checkEndpoint(config, access.policy);
  const client = s3Client(config, access.policy, access.timeoutMs);
  try {
    return await work(client);
  } catch (error) {
    throw isAbort(error, access.signal) ? error : s3Failure(error, target);
  } finally {
    client.destroy();
  }
}

/** An endpoint the network policy refuses, as a permanent failure, before any request. */
function checkEndpoint(config: ConnectionConfig, policy: NetworkPolicy): void {
  try {
    checkS3Endpoint(config, policy);
  } catch (error) {
    if (error instanceof PolicyError) throw new ConnectorError(error.message, true);
    throw error;
  }
}

function bucketOf(config: ConnectionConfig): string {
  if (!config.bucket) throw new ConnectorError('the data source names no bucket', true);
  return config.bucket;
}

/** ETags compare without their quotes or weak marker: servers differ in how they print them. */
function sameEtag(a: string, b: string): boolean {
  const bare = (etag: string): string => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return bare(a) === bare(b);
}

function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || start < 0 || !(end >= start)) {
    throw new RangeError(`cannot read the bytes [${start}, ${end})`);
  }
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error
    ? reason
    : Object.assign(new Error('aborted'), { name: 'AbortError' });
}

/** `work`, or an AbortError as soon as `signal` aborts (after `onAbort` has been told). */
async function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => void,
): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
