import { createHash, randomBytes } from 'node:crypto';
import { API_KEY_PREFIX } from './api-keys';

/** SHA-256 hex of a UTF-8 string: how random secrets (keys, codes, tokens) are stored. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** SHA-256 hex of an API key, the form in which keys are stored and sent over Kafka. */
export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

/**
 * A new key's secret and what may be stored or sent of it: the hash and a
 * recognisable prefix. The gateway mints keys, so a secret never travels
 * over Kafka nor reaches a database.
 */
export interface MintedApiKey {
  key: string;
  keyHash: string;
  prefix: string;
}

export function mintApiKey(): MintedApiKey {
  return mintSecret(API_KEY_PREFIX);
}

/**
 * 256 random bits behind a recognisable prefix (`cfk_` API keys, `cfs_` OAuth
 * client secrets), with the SHA-256 that is stored in its place. A hash
 * without salt or stretching is right here: the secret is random, not chosen.
 */
export function mintSecret(prefix: string): MintedApiKey {
  const key = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { key, keyHash: hashApiKey(key), prefix: key.slice(0, prefix.length + 6) };
}
