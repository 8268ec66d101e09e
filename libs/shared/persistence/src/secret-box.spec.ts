import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { SecretBox, UnknownSecretKeyError, secretKeyId } from './secret-box';

const key = () => randomBytes(32).toString('base64');

/** A value as SecretBox sealed it before key ids (`v1.<nonce>.<ct>.<tag>`). */
function sealV1(base64Key: string, plaintext: string, purpose: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), nonce);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[nonce, body, cipher.getAuthTag()].map((p) => p.toString('base64url'))].join(
    '.',
  );
}

/** Flips one bit of part `index` (base64url) of a sealed value. */
function flipBit(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('SecretBox', () => {
  it('opens what it sealed', () => {
    const box = new SecretBox(key());
    expect(box.open(box.seal('p@ss wörd', 'signing-key'), 'signing-key')).toBe('p@ss wörd');
  });

  it('names the current key in what it seals: v2.<kid>.<nonce>.<ct>.<tag>', () => {
    const box = new SecretBox(key());
    const parts = box.seal('v', 'p').split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v2');
    expect(parts[1]).toBe(box.keyId);
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16);
  });

  it('identifies a key by the first 8 bytes of its SHA-256, never by the key', () => {
    const secret = key();
    const bytes = Buffer.from(secret, 'base64');
    const expected = createHash('sha256').update(bytes).digest().subarray(0, 8);
    expect(secretKeyId(bytes)).toBe(expected.toString('base64url'));
    expect(new SecretBox(secret).keyId).toBe(secretKeyId(bytes));
    expect(new SecretBox(secret).keyId).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(new SecretBox(secret).seal('v', 'p')).not.toContain(bytes.toString('base64url'));
    expect(new SecretBox(key()).keyId).not.toBe(new SecretBox(secret).keyId);
  });

  it('never stores the plaintext and seals the same value differently each time', () => {
    const box = new SecretBox(key());
    const a = box.seal('canary-secret-value', 'x');
    const b = box.seal('canary-secret-value', 'x');
    expect(a).not.toContain('canary');
    expect(Buffer.from(a.split('.')[3]!, 'base64url').toString()).not.toContain('canary');
    expect(a).not.toBe(b);
  });

  it('refuses a value sealed for another purpose', () => {
    const box = new SecretBox(key());
    expect(() => box.open(box.seal('v', 'datasource'), 'signing-key')).toThrow(
      /does not open with key id .*another purpose/,
    );
  });

  it('refuses a tampered nonce, ciphertext or tag', () => {
    const box = new SecretBox(key());
    const sealed = box.seal('value', 'p');
    for (const part of [2, 3, 4]) {
      expect(() => box.open(flipBit(sealed, part), 'p')).toThrow('does not open');
    }
  });

  it('refuses a shortened tag', () => {
    const box = new SecretBox(key());
    const parts = box.seal('value', 'p').split('.');
    parts[4] = Buffer.from(parts[4]!, 'base64url').subarray(0, 12).toString('base64url');
    expect(() => box.open(parts.join('.'), 'p')).toThrow('does not open');
  });

  it('refuses a value relabelled with the id of another configured key', () => {
    const [oldKey, newKey] = [key(), key()];
    const ring = new SecretBox(newKey, [oldKey]);
    const parts = new SecretBox(oldKey).seal('value', 'p').split('.');
    parts[1] = ring.keyId;
    expect(() => ring.open(parts.join('.'), 'p')).toThrow('does not open');
  });

  it.each(['', 'v2.a.b', 'v3.kid.n.c.t', 'v2..n.c.t', 'v1.n.c', 'plain text'])(
    'refuses %p as not a sealed secret',
    (sealed) => {
      expect(() => new SecretBox(key()).open(sealed, 'p')).toThrow('not a sealed secret');
    },
  );

  it.each(['', 'c2hvcnQ=', randomBytes(31).toString('base64')])(
    'refuses a key that is not 32 bytes (%p)',
    (bad) => {
      expect(() => new SecretBox(bad)).toThrow('CLOUDFLOW_SECRET_KEY must be 32 bytes');
      expect(() => new SecretBox(key(), [key(), bad])).toThrow(
        'each key of CLOUDFLOW_SECRET_KEY_PREVIOUS must be 32 bytes',
      );
    },
  );

  describe('with previous keys', () => {
    it('opens values sealed with a previous key and seals new ones with the current key', () => {
      const [oldest, old, current] = [key(), key(), key()];
      const ring = new SecretBox(current, [old, oldest]);
      expect(ring.open(new SecretBox(old).seal('a', 'p'), 'p')).toBe('a');
      expect(ring.open(new SecretBox(oldest).seal('b', 'p'), 'p')).toBe('b');

      const sealed = ring.seal('c', 'p');
      expect(new SecretBox(current).open(sealed, 'p')).toBe('c');
      expect(() => new SecretBox(old).open(sealed, 'p')).toThrow(UnknownSecretKeyError);
    });

    it('names the key id a value needs, and the settings to check, when no key has it', () => {
      const sealedElsewhere = new SecretBox(key()).seal('v', 'p');
      const kid = sealedElsewhere.split('.')[1]!;
      const ring = new SecretBox(key(), [key()]);
      let error: unknown;
      try {
        ring.open(sealedElsewhere, 'p');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UnknownSecretKeyError);
      expect((error as UnknownSecretKeyError).kid).toBe(kid);
      const { message } = error as Error;
      expect(message).toContain(`key id ${kid}`);
      expect(message).toContain(ring.keyId);
      expect(message).toContain('CLOUDFLOW_SECRET_KEY and CLOUDFLOW_SECRET_KEY_PREVIOUS');
    });

    it('still binds the purpose and detects tampering with a previous key', () => {
      const old = key();
      const ring = new SecretBox(key(), [old]);
      const sealed = new SecretBox(old).seal('v', 'datasource:ds_1');
      expect(() => ring.open(sealed, 'datasource:ds_2')).toThrow('does not open');
      expect(() => ring.open(flipBit(sealed, 3), 'datasource:ds_1')).toThrow('does not open');
    });

    it('accepts the current key listed among the previous ones', () => {
      const current = key();
      const box = new SecretBox(current, [current]);
      expect(box.needsReseal(box.seal('v', 'p'))).toBe(false);
    });

    it('needs a re-seal only for values not under the current key', () => {
      const [old, current] = [key(), key()];
      const ring = new SecretBox(current, [old]);
      expect(ring.needsReseal(ring.seal('v', 'p'))).toBe(false);
      expect(ring.needsReseal(new SecretBox(old).seal('v', 'p'))).toBe(true);
      expect(ring.needsReseal(new SecretBox(key()).seal('v', 'p'))).toBe(true);
      expect(ring.needsReseal(sealV1(current, 'v', 'p'))).toBe(true);
      expect(() => ring.needsReseal('not sealed')).toThrow('not a sealed secret');
    });
  });

  describe('values sealed before key ids (v1)', () => {
    it('opens them with the current key', () => {
      const current = key();
      expect(new SecretBox(current).open(sealV1(current, 'legacy', 'p'), 'p')).toBe('legacy');
    });

    it('opens them with a previous key', () => {
      const [old, current] = [key(), key()];
      const ring = new SecretBox(current, [key(), old]);
      expect(ring.open(sealV1(old, 'legacy', 'p'), 'p')).toBe('legacy');
    });

    it('refuses them when no configured key, purpose or bit matches', () => {
      const old = key();
      const legacy = sealV1(old, 'legacy', 'p');
      expect(() => new SecretBox(key()).open(legacy, 'p')).toThrow(
        'does not open with CLOUDFLOW_SECRET_KEY or any key of CLOUDFLOW_SECRET_KEY_PREVIOUS',
      );
      const ring = new SecretBox(key(), [old]);
      expect(() => ring.open(legacy, 'other')).toThrow('does not open');
      expect(() => ring.open(flipBit(legacy, 2), 'p')).toThrow('does not open');
    });
  });
});
