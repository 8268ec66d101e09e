import { createReadStream } from 'node:fs';

/**
 * Bytes the engine reads records from: a file under the data root, or an
 * object in a bucket (read with ranged requests). Planning and reading only
 * ever ask for a stretch of it, so neither needs the whole input at once.
 */
export interface ByteSource {
  /** For messages: the path or `s3://bucket/key` the user named. */
  readonly name: string;
  /**
   * Streams bytes `[start, end)`; an `end` past the size (or Infinity) reads
   * to the end. Chunks arrive as the consumer pulls them.
   */
  read(start: number, end: number, signal?: AbortSignal): AsyncIterable<Buffer>;
}

/** The input as a ByteSource: a path is a local file. */
export function byteSourceOf(input: string | ByteSource, chunkBytes = 128 * 1024): ByteSource {
  return typeof input === 'string' ? fileByteSource(input, chunkBytes) : input;
}

export function fileByteSource(path: string, chunkBytes = 128 * 1024): ByteSource {
  return {
    name: path,
    read(start, end, signal) {
      return createReadStream(path, {
        start,
        ...(Number.isFinite(end) && { end: end - 1 }),
        highWaterMark: chunkBytes,
        signal,
      });
    },
  };
}
