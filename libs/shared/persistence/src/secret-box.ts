import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Values sealed before key rotation: `v1.<nonce>.<ciphertext>.<tag>`, no key id. */
const V1 = 'v1';
/** `v2.<kid>.<nonce>.<ciphertext>.<tag>`: names the key, so opening needs no guessing. */
const V2 = 'v2';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

interface RingKey {
  /** Fingerprint of the key, stored with every value it seals. */
  id: string;
  bytes: Buffer;
}

interface ParsedSealed {
  /** Absent on v1 values. */
  kid?: string;
  nonce: string;
  body: string;
  tag: string;
}

/** A value names a key that neither CLOUDFLOW_SECRET_KEY nor CLOUDFLOW_SECRET_KEY_PREVIOUS holds. */
export class UnknownSecretKeyError extends Error {
  constructor(
    readonly kid: string,
    configured: readonly string[],
  ) {
    super(
      `sealed with key id ${kid}, which is not configured (configured key ids: ` +
        `${configured.join(', ')}); check CLOUDFLOW_SECRET_KEY and CLOUDFLOW_SECRET_KEY_PREVIOUS: ` +
        'the key it was sealed with must be one of them',
    );
    this.name = 'UnknownSecretKeyError';
  }
}

/**
 * Encryption at rest for secrets CloudFlow must read back (signing keys, data
 * source passwords): AES-256-GCM with a fresh 96-bit nonce per value and the
 * value's purpose bound as associated data, so a ciphertext copied into
 * another field does not open.
 *
 * Keys form a ring so `CLOUDFLOW_SECRET_KEY` can be rotated: new values are
 * sealed with the current key and carry its id
 * (`v2.<kid>.<nonce>.<ciphertext>.<tag>`, base64url); values sealed with a
 * previous key (`CLOUDFLOW_SECRET_KEY_PREVIOUS`) still open until
 * `resealAll` has moved them to the current one. Values from before key ids
 * (`v1.…`) are tried with every configured key, the current one first.
 */
export class SecretBox {
  private readonly current: RingKey;
  /** Every configured key by id, the current one first. */
  private readonly ring = new Map<string, RingKey>();

  constructor(currentKey: string, previousKeys: readonly string[] = []) {
    this.current = ringKey(currentKey, 'CLOUDFLOW_SECRET_KEY must be 32 bytes, base64-encoded');
    this.ring.set(this.current.id, this.current);
    for (const previous of previousKeys) {
      const key = ringKey(
        previous,
        'each key of CLOUDFLOW_SECRET_KEY_PREVIOUS must be 32 bytes, base64-encoded',
      );
      // The current key listed as previous too (mid-rotation) is the same key: keep one.
      if (!this.ring.has(key.id)) this.ring.set(key.id, key);
    }
  }

  /** The id new values are sealed under: a fingerprint, safe to print. */
  get keyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, purpose: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, nonce);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const encoded = [nonce, body, cipher.getAuthTag()].map((part) => part.toString('base64url'));
    return [V2, this.current.id, ...encoded].join('.');
  }

  open(sealed: string, purpose: string): string {
    const parsed = parseSealed(sealed);
    if (parsed.kid !== undefined) {
      const key = this.ring.get(parsed.kid);
      if (!key) throw new UnknownSecretKeyError(parsed.kid, [...this.ring.keys()]);
      try {
        return decrypt(key, parsed, purpose);
      } catch {
        throw new Error(
          `does not open with key id ${parsed.kid}: sealed for another purpose, or altered`,
        );
      }
    }
    return this.openWithAnyKey(parsed, purpose);
  }

  /** True when `sealed` is not under the current key yet: a v1 value or another key's id. */
  needsReseal(sealed: string): boolean {
    return parseSealed(sealed).kid !== this.current.id;
  }

  /** A v1 value does not say which key sealed it: every configured key is tried, current first. */
  private openWithAnyKey(parsed: ParsedSealed, purpose: string): string {
    for (const key of this.ring.values()) {
      try {
        return decrypt(key, parsed, purpose);
      } catch {
        // The next key, if any.
      }
    }
    throw new Error(
      'does not open with CLOUDFLOW_SECRET_KEY or any key of CLOUDFLOW_SECRET_KEY_PREVIOUS: ' +
        'sealed with another key, for another purpose, or altered',
    );
  }
}

/**
 * The id of a key: the first 8 bytes of its SHA-256, base64url. Stable for a
 * key wherever it is configured, and reveals nothing usable about the key.
 */
export function secretKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}

function ringKey(base64Key: string, problem: string): RingKey {
  const bytes = Buffer.from(base64Key, 'base64');
  if (bytes.length !== 32) throw new Error(problem);
  return { id: secretKeyId(bytes), bytes };
}

function parseSealed(sealed: string): ParsedSealed {
  const parts = sealed.split('.');
  if (parts[0] === V2 && parts.length === 5) {
    const [, kid, nonce, body, tag] = parts as [string, string, string, string, string];
    if (kid && nonce && tag) return { kid, nonce, body, tag };
  }
  if (parts[0] === V1 && parts.length === 4) {
    const [, nonce, body, tag] = parts as [string, string, string, string];
    if (nonce && tag) return { nonce, body, tag };
  }
  throw new Error('not a sealed secret');
}

/** AES-256-GCM open; throws when the tag, the key or the purpose does not match. */
function decrypt(key: RingKey, parsed: ParsedSealed, purpose: string): string {
  const decipher = createDecipheriv(
    'aes-256-gcm',
    key.bytes,
    Buffer.from(parsed.nonce, 'base64url'),
    // A shorter tag would be accepted otherwise, and be easier to forge.
    { authTagLength: TAG_BYTES },
  );
  decipher.setAAD(Buffer.from(purpose, 'utf8'));
  decipher.setAuthTag(Buffer.from(parsed.tag, 'base64url'));
  return Buffer.concat([
    decipher.update(Buffer.from(parsed.body, 'base64url')),
    decipher.final(),
  ]).toString('utf8');
}
