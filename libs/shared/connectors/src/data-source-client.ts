import { compactDecrypt, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import {
  AppError,
  ErrorCode,
  type DataSourceLookup,
  type DataSourceRef,
} from '@cloudflow/contracts';
import type { RpcClient } from '@cloudflow/messaging';
import { parseConnectionString, type ConnectionConfig } from './connection-string';

/** An opened connection string is kept this long, so a job's tasks ask the broker once a minute at most. */
const OPEN_TTL_MS = 60_000;
const MAX_CACHED = 200;

interface RecipientKeys {
  privateKey: CryptoKey;
  publicJwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
}

/**
 * How the scheduler and workers reach the data sources a job names: the
 * broker resolves names and hands over connection strings for one workspace
 * at a time, sealed to a key pair this process made for itself at start-up
 * and never stored, so the string is readable in this process alone (ADR 0012).
 */
export class DataSourceClient {
  private keys?: Promise<RecipientKeys>;
  private readonly opened = new Map<string, { at: number; config: Promise<ConnectionConfig> }>();

  constructor(private readonly rpc: RpcClient) {}

  resolve(workspaceId: string, lookup: DataSourceLookup): Promise<DataSourceRef> {
    return this.rpc.call('datasources.resolve', { workspaceId, lookup });
  }

  /** The data source's connection, opened; a deleted data source is a 404 AppError. */
  open(workspaceId: string, dataSourceId: string): Promise<ConnectionConfig> {
    const cacheKey = `${workspaceId}/${dataSourceId}`;
    const cached = this.opened.get(cacheKey);
    if (cached && Date.now() - cached.at < OPEN_TTL_MS) return cached.config;
    const config = this.fetch(workspaceId, dataSourceId);
    if (this.opened.size >= MAX_CACHED) this.opened.clear();
    this.opened.set(cacheKey, { at: Date.now(), config });
    config.catch(() => {
      if (this.opened.get(cacheKey)?.config === config) this.opened.delete(cacheKey);
    });
    return config;
  }

  private async fetch(workspaceId: string, dataSourceId: string): Promise<ConnectionConfig> {
    const { privateKey, publicJwk } = await this.recipient();
    const opened = await this.rpc.call('datasources.open', {
      workspaceId,
      dataSourceId,
      recipient: publicJwk,
    });
    const { plaintext } = await compactDecrypt(opened.sealed, privateKey, {
      keyManagementAlgorithms: ['ECDH-ES'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    const parsed = parseConnectionString(opened.type, new TextDecoder().decode(plaintext));
    if (!parsed.ok) {
      throw new AppError(
        ErrorCode.InvalidPipelineConfig,
        `data source ${dataSourceId}: ${parsed.problems.join('; ')}`,
      );
    }
    return parsed.config;
  }

  private recipient(): Promise<RecipientKeys> {
    this.keys ??= (async () => {
      const { privateKey, publicKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256' });
      const jwk = await exportJWK(publicKey);
      return {
        privateKey,
        publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string },
      };
    })();
    return this.keys;
  }
}
