import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('opens what it sealed', () => {
    const box = new SecretBox(key());
    expect(box.open(box.seal('p@ss wörd', 'signing-key'), 'signing-key')).toBe('p@ss wörd');
  });

  it('never stores the plaintext and seals the same value differently each time', () => {
    const box = new SecretBox(key());
    const a = box.seal('canary-secret-value', 'x');
    const b = box.seal('canary-secret-value', 'x');
    expect(a).not.toContain('canary');
    expect(Buffer.from(a.split('.')[2]!, 'base64url').toString()).not.toContain('canary');
    expect(a).not.toBe(b);
  });

  it('refuses a value sealed for another purpose', () => {
    const box = new SecretBox(key());
    expect(() => box.open(box.seal('v', 'datasource'), 'signing-key')).toThrow();
  });

  it('refuses a value sealed under another key', () => {
    const sealed = new SecretBox(key()).seal('v', 'p');
    expect(() => new SecretBox(key()).open(sealed, 'p')).toThrow();
  });

  it('refuses a tampered ciphertext', () => {
    const box = new SecretBox(key());
    const [v, nonce, body, tag] = box.seal('value', 'p').split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open([v, nonce, flipped.toString('base64url'), tag].join('.'), 'p')).toThrow();
  });

  it.each(['', 'c2hvcnQ=', randomBytes(31).toString('base64')])(
    'refuses a key that is not 32 bytes (%p)',
    (bad) => {
      expect(() => new SecretBox(bad)).toThrow('CLOUDFLOW_SECRET_KEY must be 32 bytes');
    },
  );
});
