import type { TransformConfig } from '@cloudflow/contracts';
import type { Row } from '../model';
import { compileTransforms } from './compile-transforms';

function run(config: TransformConfig, row: Row) {
  return compileTransforms([config])(row);
}

/** Field names in order, to check positions (toEqual ignores key order). */
function keys(value: unknown): string[] {
  return Object.keys(value as Row);
}

const SHA256_ADA = 'b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72';
const SHA256_PEPPER_ADA = 'd1c12a49cbf752895f8fcb4ddc9d5b2f7605d174ec3cafcca4b2f5790cebeda5';
const SHA512_42 =
  '39ca7ce9ecc69f696bf7d20bb23dd1521b641f806cc7a6b724aaa6cdbffb3a02' +
  '3ff98ae73225156b2c6c9ceddbfc16f5453e8fa49fc10e5d96a3885546a46ef4';

describe('field transforms', () => {
  describe('select', () => {
    it('keeps only the listed fields, in the listed order', () => {
      const out = run({ operation: 'select', fields: ['c', 'a'] }, { a: 1, b: 2, c: 3 });
      expect(out).toStrictEqual({ c: 3, a: 1 });
      expect(keys(out)).toStrictEqual(['c', 'a']);
    });

    it('leaves out listed fields the row lacks and keeps null values', () => {
      expect(
        run({ operation: 'select', fields: ['a', 'x', 'n'] }, { a: 1, n: null }),
      ).toStrictEqual({
        a: 1,
        n: null,
      });
    });
  });

  describe('drop', () => {
    it('removes the listed fields and keeps the order of the rest', () => {
      const out = run({ operation: 'drop', fields: ['b', 'zz'] }, { a: 1, b: 2, c: 3 });
      expect(out).toStrictEqual({ a: 1, c: 3 });
      expect(keys(out)).toStrictEqual(['a', 'c']);
    });

    it('keeps a __proto__ field read from JSON a plain field', () => {
      const row = JSON.parse('{"a": 1, "__proto__": {"polluted": true}}') as Row;
      const out = run({ operation: 'drop', fields: ['a'] }, row) as Row;
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(keys(out)).toStrictEqual(['__proto__']);
      expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    });
  });

  describe('rename', () => {
    it('renames in place, keeping the field position', () => {
      const out = run(
        { operation: 'rename', mapping: { b: 'beta', missing: 'm' } },
        { a: 1, b: 2, c: 3 },
      );
      expect(out).toStrictEqual({ a: 1, beta: 2, c: 3 });
      expect(keys(out)).toStrictEqual(['a', 'beta', 'c']);
    });

    it('swaps two fields', () => {
      const out = run({ operation: 'rename', mapping: { a: 'b', b: 'a' } }, { a: 1, b: 2 });
      expect(out).toStrictEqual({ b: 1, a: 2 });
      expect(keys(out)).toStrictEqual(['b', 'a']);
    });

    it('replaces an existing field of the new name', () => {
      const out = run({ operation: 'rename', mapping: { c: 'a' } }, { a: 1, b: 2, c: 3 });
      expect(out).toStrictEqual({ b: 2, a: 3 });
      expect(keys(out)).toStrictEqual(['b', 'a']);
    });

    it('keeps the existing field when the renamed one is absent', () => {
      expect(run({ operation: 'rename', mapping: { c: 'a' } }, { a: 1 })).toStrictEqual({ a: 1 });
    });
  });

  describe('fill', () => {
    it('sets defaults for missing, null and empty values only', () => {
      expect(
        run(
          { operation: 'fill', values: { a: 'n/a', b: 0, c: false, d: null, e: 'x' } },
          { a: '', b: null, d: 'kept', e: 0 },
        ),
      ).toStrictEqual({ a: 'n/a', b: 0, c: false, d: 'kept', e: 0 });
    });
  });

  describe('mask', () => {
    it('keeps the last four characters by default', () => {
      expect(
        run({ operation: 'mask', fields: ['card'] }, { card: '4111111111111111' }),
      ).toStrictEqual({
        card: '************1111',
      });
    });

    it('honours keepStart, keepEnd and char', () => {
      expect(
        run(
          { operation: 'mask', fields: ['email'], keepStart: 2, keepEnd: 3, char: '#' },
          { email: 'ada@example.com' },
        ),
      ).toStrictEqual({ email: 'ad##########com' });
    });

    it('counts code points, so emoji and astral characters are one character each', () => {
      expect(
        run({ operation: 'mask', fields: ['s'], keepStart: 1, keepEnd: 1 }, { s: '😀𝒳y😀' }),
      ).toStrictEqual({ s: '😀**😀' });
    });

    it('masks a value no longer than keepStart + keepEnd entirely', () => {
      expect(run({ operation: 'mask', fields: ['pin'] }, { pin: '1234' })).toStrictEqual({
        pin: '****',
      });
    });

    it('masks numbers as text and leaves null and missing fields alone', () => {
      expect(
        run(
          { operation: 'mask', fields: ['phone', 'n', 'gone'], keepEnd: 2 },
          { phone: 612345678, n: null },
        ),
      ).toStrictEqual({ phone: '*******78', n: null });
    });
  });

  describe('hash', () => {
    it('writes the sha256 hex digest by default', () => {
      expect(
        run({ operation: 'hash', fields: ['email'] }, { email: 'ada@example.com' }),
      ).toStrictEqual({
        email: SHA256_ADA,
      });
    });

    it('prefixes the salt', () => {
      expect(
        run(
          { operation: 'hash', fields: ['email'], salt: 'pepper:' },
          { email: 'ada@example.com' },
        ),
      ).toStrictEqual({ email: SHA256_PEPPER_ADA });
    });

    it('supports sha512 and hashes numbers as their text', () => {
      expect(
        run({ operation: 'hash', fields: ['id'], algorithm: 'sha512' }, { id: 42 }),
      ).toStrictEqual({
        id: SHA512_42,
      });
    });

    it('leaves null as null and a missing field missing', () => {
      expect(run({ operation: 'hash', fields: ['a', 'b'] }, { a: null })).toStrictEqual({
        a: null,
      });
    });
  });
});
