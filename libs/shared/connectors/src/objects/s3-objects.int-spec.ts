import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, testEnv, uniqueName } from '@cloudflow/testing';
import { parseConnectionString, type ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { NetworkPolicy } from '../network-policy';
import { s3ByteSource, statS3Object, uploadS3Object, type S3Access } from './s3-objects';

/** The test servers listen on loopback, which a deployment must allow explicitly. */
const policy = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });
const access: S3Access = { policy, timeoutMs: 10_000 };

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}
const ANY: Credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function sourceAt(endpoint: string, bucket: string, credentials = ANY): ConnectionConfig {
  const user = `${encodeURIComponent(credentials.accessKeyId)}:${encodeURIComponent(credentials.secretAccessKey)}`;
  const parsed = parseConnectionString(
    's3',
    `s3://${user}@${bucket}/?endpoint=${encodeURIComponent(endpoint)}`,
  );
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

/** A fresh bucket on `endpoint`, made with a plain SDK client (the test's own hands). */
async function newBucket(endpoint: string, credentials = ANY): Promise<string> {
  const bucket = uniqueName('objects').toLowerCase().replace(/_/g, '-');
  await withSdk(endpoint, credentials, (s3) =>
    s3.send(new CreateBucketCommand({ Bucket: bucket })),
  );
  return bucket;
}

async function put(
  endpoint: string,
  bucket: string,
  key: string,
  body: Buffer | string,
): Promise<void> {
  await withSdk(endpoint, ANY, (s3) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })),
  );
}

async function withSdk<T>(
  endpoint: string,
  credentials: Credentials,
  work: (s3: S3Client) => Promise<T>,
): Promise<T> {
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  try {
    return await work(s3);
  } finally {
    s3.destroy();
  }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/** The ConnectorError `work` fails with. */
async function failure(work: Promise<unknown> | AsyncIterable<Buffer>): Promise<ConnectorError> {
  try {
    await (Symbol.asyncIterator in work ? collect(work) : work);
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error('it succeeded');
}

describe('S3 objects against a real S3-compatible server', () => {
  let endpoint: string;
  let bucket: string;
  let config: ConnectionConfig;
  const content = randomBytes(3 * 1024 * 1024 + 12_345);

  beforeAll(async () => {
    endpoint = testEnv('CLOUDFLOW_TEST_S3_ENDPOINT');
    bucket = await newBucket(endpoint);
    config = sourceAt(endpoint, bucket);
    await put(endpoint, bucket, 'in/data.bin', content);
  });

  it('stats an object: size, ETag and last-modified, and checks the ETag it is given', async () => {
    const stat = await statS3Object(config, 'in/data.bin', access);
    expect(stat).toEqual({
      bucket,
      key: 'in/data.bin',
      size: content.length,
      etag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
      lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    await expect(
      statS3Object(config, 'in/data.bin', { ...access, expectEtag: stat.etag }),
    ).resolves.toEqual(stat);
    const changed = await failure(
      statS3Object(config, 'in/data.bin', {
        ...access,
        expectEtag: '"0123456789abcdef0123456789abcdef"',
      }),
    );
    expect(changed.permanent).toBe(true);
    expect(changed.message).toBe(
      `the object 's3://${bucket}/in/data.bin' changed since the job was submitted (its ETag is different)`,
    );
  });

  it('reads ranges that, put together, are the object, streamed in chunks', async () => {
    const stat = await statS3Object(config, 'in/data.bin', access);
    const source = s3ByteSource(config, stat, access);
    expect(source).toMatchObject({ size: content.length, name: `s3://${bucket}/in/data.bin` });
    const cuts = [0, 1, 70_000, 1_048_576, 2_500_001, content.length];
    const parts: Buffer[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      parts.push(...(await collect(source.read(cuts[i] ?? 0, cuts[i + 1] ?? 0))));
    }
    expect(parts.every((chunk) => Buffer.isBuffer(chunk))).toBe(true);
    expect(parts.length).toBeGreaterThan(cuts.length); // the big ranges came in several chunks
    expect(Buffer.concat(parts).equals(content)).toBe(true);
    // The end is clamped to the size; an empty range asks for nothing.
    const tail = Buffer.concat(await collect(source.read(content.length - 10, Infinity)));
    expect(tail.equals(content.subarray(-10))).toBe(true);
    expect(await collect(source.read(content.length, content.length + 5))).toEqual([]);
  });

  it('refuses, permanently, to read an object replaced since it was stat-ed', async () => {
    await put(endpoint, bucket, 'in/replaced.csv', 'id\n1\n');
    const before = await statS3Object(config, 'in/replaced.csv', access);
    await put(endpoint, bucket, 'in/replaced.csv', 'id\n2\n');
    const error = await failure(s3ByteSource(config, before, access).read(0, before.size));
    expect(error.permanent).toBe(true);
    expect(error.message).toBe(
      `the object 's3://${bucket}/in/replaced.csv' changed since the job was submitted (its ETag is different)`,
    );
  });

  it('stops reading when aborted, and passes the abort on', async () => {
    const stat = await statS3Object(config, 'in/data.bin', access);
    const controller = new AbortController();
    const source = s3ByteSource(config, stat, { ...access, signal: controller.signal });
    let received = 0;
    const reading = (async () => {
      for await (const chunk of source.read(0, stat.size)) {
        received += chunk.length;
        controller.abort();
      }
    })();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    expect(received).toBeLessThan(stat.size);
  });

  it('uploads a multi-MiB file in parts and reads back the same bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloudflow-upload-'));
    try {
      const file = join(dir, 'out.bin');
      const bytes = randomBytes(12 * 1024 * 1024 + 7);
      await writeFile(file, bytes);
      const uploaded = await uploadS3Object(config, 'out/result.bin', file, {
        ...access,
        contentType: 'application/octet-stream',
      });
      expect(uploaded).toEqual({ etag: expect.stringMatching(/-3"$/), bytes: bytes.length });
      const stat = await statS3Object(config, 'out/result.bin', {
        ...access,
        expectEtag: uploaded.etag,
      });
      expect(stat.size).toBe(bytes.length);
      const back = Buffer.concat(
        await collect(s3ByteSource(config, stat, access).read(0, Infinity)),
      );
      expect(back.equals(bytes)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uploads a small file (and an empty one) in one request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloudflow-upload-'));
    try {
      await writeFile(join(dir, 'small.csv'), 'id\n1\n');
      await writeFile(join(dir, 'empty.csv'), '');
      const small = await uploadS3Object(config, 'out/small.csv', join(dir, 'small.csv'), access);
      expect(small).toEqual({ etag: expect.stringMatching(/^"[0-9a-f]{32}"$/), bytes: 5 });
      const empty = await uploadS3Object(config, 'out/empty.csv', join(dir, 'empty.csv'), access);
      expect(empty.bytes).toBe(0);
      expect((await statS3Object(config, 'out/empty.csv', access)).size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing object or bucket as permanent', async () => {
    const missingKey = await failure(statS3Object(config, 'in/nope.csv', access));
    expect(missingKey).toMatchObject({ permanent: true });
    expect(missingKey.message).toBe(
      `the object 's3://${bucket}/in/nope.csv' does not exist (or its bucket does not)`,
    );
    const gone = { key: 'in/nope.csv', size: 10, etag: '"x"' };
    const readMissing = await failure(s3ByteSource(config, gone, access).read(0, 10));
    expect(readMissing).toMatchObject({
      permanent: true,
      message: `the object 's3://${bucket}/in/nope.csv' does not exist`,
    });
    const noBucket = sourceAt(endpoint, 'no-such-bucket-cloudflow');
    const readNoBucket = await failure(s3ByteSource(noBucket, gone, access).read(0, 10));
    expect(readNoBucket).toMatchObject({
      permanent: true,
      message: "the bucket 'no-such-bucket-cloudflow' does not exist",
    });
    expect(await failure(statS3Object(noBucket, 'x', access))).toMatchObject({ permanent: true });
  });

  it('reports a closed port as worth retrying', async () => {
    const closed = sourceAt(`http://127.0.0.1:${await freePort()}`, bucket);
    const error = await failure(statS3Object(closed, 'in/data.bin', access));
    expect(error).toMatchObject({
      permanent: false,
      message: 'nothing is listening at the S3 endpoint (connection refused)',
    });
  });

  it('reports a server that never answers as worth retrying, within the time allowed', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((socket) => {
      accepted.push(socket);
      socket.resume(); // read and drop, never answer
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const started = Date.now();
      const error = await failure(
        statS3Object(sourceAt(`http://127.0.0.1:${port}`, bucket), 'in/data.bin', {
          ...access,
          timeoutMs: 500,
        }),
      );
      expect(error).toMatchObject({
        permanent: false,
        message: 'the S3 server did not answer in time',
      });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('gives up an upload when aborted, leaving no object behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloudflow-upload-'));
    try {
      await writeFile(join(dir, 'big.bin'), randomBytes(11 * 1024 * 1024));
      const controller = new AbortController();
      controller.abort();
      await expect(
        uploadS3Object(config, 'out/aborted.bin', join(dir, 'big.bin'), {
          ...access,
          signal: controller.signal,
        }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(await failure(statS3Object(config, 'out/aborted.bin', access))).toMatchObject({
        permanent: true,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses endpoints the network policy forbids, before any request', async () => {
    const metadata = await failure(
      statS3Object(sourceAt('http://169.254.169.254', bucket), 'k', access),
    );
    expect(metadata.permanent).toBe(true);
    expect(metadata.message).toContain('link-local');
    // An address is never looked up, so the policy is asked about it directly.
    const strict = {
      ...access,
      policy: new NetworkPolicy({ allowLoopback: false, allowPrivate: false }),
    };
    const loopback = await failure(statS3Object(config, 'in/data.bin', strict));
    expect(loopback).toMatchObject({ permanent: true });
    expect(loopback.message).toContain('loopback');
    const named = await failure(
      statS3Object(
        sourceAt(endpoint.replace('127.0.0.1', 'localhost'), bucket),
        'in/data.bin',
        strict,
      ),
    );
    expect(named).toMatchObject({ permanent: true });
    expect(named.message).toContain('loopback');
  });
});

describe('S3 objects against a server that checks credentials', () => {
  it('accepts the right secret and refuses a wrong one, permanently, without quoting it', async () => {
    const endpoint = testEnv('CLOUDFLOW_TEST_S3_AUTH_ENDPOINT');
    const right: Credentials = {
      accessKeyId: testEnv('CLOUDFLOW_TEST_S3_AUTH_ACCESS_KEY'),
      secretAccessKey: testEnv('CLOUDFLOW_TEST_S3_AUTH_SECRET_KEY'),
    };
    const bucket = await newBucket(endpoint, right);
    await withSdk(endpoint, right, (s3) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'data.csv', Body: 'id\n1\n' })),
    );
    const stat = await statS3Object(sourceAt(endpoint, bucket, right), 'data.csv', access);
    expect(stat.size).toBe(5);

    const wrongSecret = `${right.secretAccessKey.slice(0, -4)}Zz9+`;
    const wrong = sourceAt(endpoint, bucket, { ...right, secretAccessKey: wrongSecret });
    const refusedRead = await failure(s3ByteSource(wrong, stat, access).read(0, 5));
    expect(refusedRead).toMatchObject({
      permanent: true,
      message: 'the secret key does not match the access key',
    });
    // HEAD answers carry no error code: the status alone is reported.
    const refusedStat = await failure(statS3Object(wrong, 'data.csv', access));
    expect(refusedStat.permanent).toBe(true);
    expect(refusedStat.message).toContain('the access key or its secret is wrong');
    for (const error of [refusedRead, refusedStat]) {
      expect(`${error.message} ${error.stack ?? ''}`).not.toContain(wrongSecret);
      expect(`${error.message} ${error.stack ?? ''}`).not.toContain(right.secretAccessKey);
    }

    const unknownKey = sourceAt(endpoint, bucket, {
      accessKeyId: 'AKIACLOUDFLOWUNKNOWN',
      secretAccessKey: 'x',
    });
    expect(await failure(s3ByteSource(unknownKey, stat, access).read(0, 5))).toMatchObject({
      permanent: true,
      message: 'the S3 server does not know the access key',
    });
  });
});
