import { parseConnectionString } from './connection-string';
import { NetworkPolicy, PolicyError } from './network-policy';
import { s3Client } from './s3';

const policy = new NetworkPolicy({ allowLoopback: false, allowPrivate: false });

function configWithEndpoint(endpoint: string) {
  const parsed = parseConnectionString(
    's3',
    `s3://AK:secret@bucket/?endpoint=${encodeURIComponent(endpoint)}`,
  );
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

describe('s3Client and the network policy', () => {
  // Sockets never resolve an IP literal, so the policy's lookup alone would not see it.
  it.each([
    'http://169.254.169.254',
    'http://127.0.0.1:9000',
    'http://[::ffff:169.254.169.254]',
    'http://10.0.0.5',
  ])(
    'refuses an endpoint written as the forbidden address %s before any client exists',
    (endpoint) => {
      expect(() => s3Client(configWithEndpoint(endpoint), policy, 1_000)).toThrow(PolicyError);
    },
  );

  it('builds a client for an endpoint name (checked at each connection instead)', () => {
    const client = s3Client(configWithEndpoint('http://minio.example:9000'), policy, 1_000);
    expect(client.config.forcePathStyle).toBe(true);
    client.destroy();
  });
});
