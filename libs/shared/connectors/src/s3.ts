import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ConnectionConfig } from './connection-string';
import type { NetworkPolicy } from './network-policy';

/** The host an S3 data source talks to: its endpoint, or AWS's regional one. */
export function s3Endpoint(config: ConnectionConfig): URL {
  const region = config.options['region'] ?? 'us-east-1';
  return new URL(config.options['endpoint'] ?? `https://s3.${region}.amazonaws.com`);
}

/**
 * An S3 client whose every connection goes through the network policy (its
 * sockets resolve names with the policy's lookup), with bounded waits and no
 * redirects followed to other regions.
 */
export function s3Client(
  config: ConnectionConfig,
  policy: NetworkPolicy,
  timeoutMs: number,
): S3Client {
  const lookup = policy.lookupFunction(timeoutMs);
  const endpoint = config.options['endpoint'];
  return new S3Client({
    region: config.options['region'] ?? 'us-east-1',
    ...(endpoint && { endpoint }),
    forcePathStyle: config.options['forcePathStyle'] === 'true' || endpoint !== undefined,
    followRegionRedirects: false,
    maxAttempts: 1,
    credentials:
      config.user !== undefined
        ? { accessKeyId: config.user, secretAccessKey: config.password ?? '' }
        : { accessKeyId: '', secretAccessKey: '' },
    requestHandler: new NodeHttpHandler({
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      httpAgent: new HttpAgent({ lookup }),
      httpsAgent: new HttpsAgent({ lookup }),
    }),
  });
}
