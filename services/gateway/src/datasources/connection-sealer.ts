import { Injectable } from '@nestjs/common';
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { RpcClient } from '@cloudflow/messaging';

/**
 * Seals a connection string to the datasource-broker's transit key (a
 * compact JWE: ECDH-ES, A256GCM) before it leaves the gateway, so the
 * password is readable in no Kafka message and by no service but the broker.
 * The key is fetched once a minute at most, and again after a failure, so
 * a broker that replaced its key is followed within a minute.
 */
const KEY_TTL_MS = 60_000;

@Injectable()
export class ConnectionSealer {
  private key: Promise<{ kid: string; key: Awaited<ReturnType<typeof importJWK>> }> | undefined;
  private fetchedAt = 0;

  constructor(private readonly rpc: RpcClient) {}

  async seal(connectionString: string): Promise<string> {
    const { kid, key } = await this.transitKey();
    return new CompactEncrypt(new TextEncoder().encode(connectionString))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid })
      .encrypt(key);
  }

  private transitKey(): Promise<{ kid: string; key: Awaited<ReturnType<typeof importJWK>> }> {
    if (!this.key || Date.now() - this.fetchedAt > KEY_TTL_MS) {
      this.fetchedAt = Date.now();
      const loading = this.rpc.call('datasources.transitKeys', {}).then(async ({ keys }) => {
        const jwk = keys[0] as JWK;
        if (typeof jwk.kid !== 'string') throw new Error('transit key without kid');
        return { kid: jwk.kid, key: await importJWK(jwk, 'ECDH-ES') };
      });
      loading.catch(() => {
        if (this.key === loading) this.key = undefined;
      });
      this.key = loading;
    }
    return this.key;
  }
}
