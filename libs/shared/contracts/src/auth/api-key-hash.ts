import { createHash } from 'node:crypto';

/** SHA-256 hex of an API key, the form in which keys are stored and sent over Kafka. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
