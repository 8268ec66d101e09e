import { MongoClient } from 'mongodb';
import type { ConnectionOptions } from 'mysql2/promise';
import type { ClientConfig } from 'pg';
import type { ConnectionConfig } from './connection-string';

/**
 * Driver settings for a checked connection: always to `address` (the one
 * the network policy allowed), with TLS names checked against the host the
 * user gave, and every wait bounded by `timeoutMs`.
 */
export function pgSettings(
  config: ConnectionConfig,
  address: string,
  timeoutMs: number,
): ClientConfig {
  const sslmode = config.options['sslmode'] ?? 'disable';
  return {
    host: address,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database ?? 'postgres',
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    ssl:
      sslmode === 'disable'
        ? false
        : { rejectUnauthorized: sslmode !== 'require', servername: config.host },
  };
}

export function mysqlSettings(
  config: ConnectionConfig,
  address: string,
  timeoutMs: number,
): ConnectionOptions {
  return {
    host: address,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    connectTimeout: timeoutMs,
    ...(config.options['ssl'] === 'true' && { ssl: { rejectUnauthorized: true } }),
  };
}

export function mongoClient(
  config: ConnectionConfig,
  address: string,
  timeoutMs: number,
): MongoClient {
  return new MongoClient(
    `mongodb://${address.includes(':') ? `[${address}]` : address}:${config.port}/`,
    {
      auth: config.user ? { username: config.user, password: config.password ?? '' } : undefined,
      authSource: config.options['authSource'] ?? config.database ?? 'admin',
      directConnection: true,
      tls: config.options['tls'] === 'true',
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
    },
  );
}
