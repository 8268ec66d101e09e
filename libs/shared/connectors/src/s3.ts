import { Agent as HttpAgent } from 'node:http';
import { isIP } from 'node:net';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ConnectionConfig } from './connection-string';
import { PolicyError, type NetworkPolicy } from './network-policy';

/** The host an S3 data source talks to: its endpoint, or AWS's regional one. */
export function s3Endpoint(config: ConnectionConfig): URL {
  const region = config.options['region'] ?? 'us-east-1';
  return new URL(config.options['endpoint'] ?? `https://s3.${region}.amazonaws.com`);
}

/**
 * The client's sockets ask the policy whenever they resolve a name, but an
 * endpoint written as an IP address is never resolved, so the policy would
 * not be asked: such an address is checked here. Throws a PolicyError.
 */
export function checkS3Endpoint(config: ConnectionConfig, policy: NetworkPolicy): void {
  const host = s3Endpoint(config).hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 0) return;
  const verdict = policy.check(host);
  if (!verdict.allowed) throw new PolicyError(host, host, verdict.reason);
}

/**
 * An S3 client whose every connection goes through the network policy (its
 * sockets resolve names with the policy's lookup; an IP-address endpoint is
 * checked before the client exists), with bounded waits and no redirects
 * followed to other regions.
 */
export function s3Client(
  config: ConnectionConfig,
  policy: NetworkPolicy,
  timeoutMs: number,
): S3Client {
  checkS3Endpoint(config, policy);
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
      // A silence of the server longer than this fails the request (or the body being
      // streamed); `requestTimeout` would only log a warning, and cap whole transfers.
      socketTimeout: timeoutMs,
      httpAgent: new HttpAgent({ lookup }),
      httpsAgent: new HttpsAgent({ lookup }),
    }),
  });
}
