import { RowRejected, type Row } from '../model';
import { compileTransforms } from './compile-transforms';
import type { ValidationRule } from './validate';

function validate(rules: ValidationRule[], row: Row) {
  return compileTransforms([{ operation: 'validate', rules }])(row);
}

describe('validate', () => {
  it('passes a valid row through unchanged', () => {
    const row = { email: 'ada@example.com', age: '36', plan: 'pro' };
    const out = validate(
      [
        { field: 'email', required: true, pattern: '^.+@.+$' },
        { field: 'age', type: 'integer', min: 0, max: 120 },
        { field: 'plan', oneOf: ['free', 'pro'] },
      ],
      row,
    );
    expect(out).toBe(row);
    expect(out).toStrictEqual({ email: 'ada@example.com', age: '36', plan: 'pro' });
  });

  it('rejects with every failing reason, in rule order', () => {
    expect(
      validate(
        [
          { field: 'email', pattern: '^.+@.+$' },
          { field: 'age', min: 0, max: 120 },
        ],
        { email: 'nobody', age: '150' },
      ),
    ).toStrictEqual(
      new RowRejected('email: does not match pattern ^.+@.+$; age: 150 is above max 120'),
    );
  });

  it('collects reasons from many rules and fields', () => {
    expect(
      validate(
        [
          { field: 'id', required: true },
          { field: 'name', required: true },
          { field: 'age', type: 'integer' },
          { field: 'score', min: 10 },
          { field: 'plan', oneOf: ['free', 'pro', null] },
          { field: 'when', type: 'date' },
        ],
        { id: '', age: 'old', score: 3.5, plan: 'gold', when: '2024-13-01' },
      ),
    ).toStrictEqual(
      new RowRejected(
        "id: is required; name: is required; age: 'old' is not an integer; score: 3.5 is below min 10; " +
          "plan: 'gold' is not one of 'free', 'pro', null; when: '2024-13-01' is not a date (YYYY-MM-DD)",
      ),
    );
  });

  it('skips the other checks of an absent optional field', () => {
    const row = { a: null, b: '' };
    expect(
      validate(
        [
          { field: 'a', type: 'integer', min: 1 },
          { field: 'b', pattern: '^x$' },
          { field: 'c', oneOf: ['x'] },
        ],
        row,
      ),
    ).toBe(row);
  });

  it('counts numeric strings as numbers for min and max, and refuses other text', () => {
    expect(validate([{ field: 'n', min: 1, max: 2 }], { n: ' 1.5 ' })).toStrictEqual({
      n: ' 1.5 ',
    });
    expect(validate([{ field: 'n', min: 1 }], { n: 'many' })).toStrictEqual(
      new RowRejected("n: 'many' is not a number"),
    );
  });

  it('reports a failed type once, without range messages for the same field', () => {
    expect(validate([{ field: 'n', type: 'number', max: 5 }], { n: 'abc' })).toStrictEqual(
      new RowRejected("n: 'abc' is not a number"),
    );
  });

  it('compares oneOf as text, so CSV values match numeric and boolean options', () => {
    const rules: ValidationRule[] = [
      { field: 'level', oneOf: [1, 2, 3] },
      { field: 'flag', oneOf: [true] },
    ];
    expect(validate(rules, { level: '2', flag: 'true' })).toStrictEqual({
      level: '2',
      flag: 'true',
    });
    expect(validate(rules, { level: 2, flag: true })).toStrictEqual({ level: 2, flag: true });
    expect(validate(rules, { level: '4', flag: 'false' })).toStrictEqual(
      new RowRejected("level: '4' is not one of 1, 2, 3; flag: 'false' is not one of true"),
    );
  });

  it('lists at most ten options', () => {
    const oneOf = Array.from({ length: 12 }, (_, i) => i);
    expect(validate([{ field: 'x', oneOf }], { x: 99 })).toStrictEqual(
      new RowRejected('x: 99 is not one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …'),
    );
  });

  it('matches patterns with Unicode semantics against the value as text', () => {
    expect(validate([{ field: 'w', pattern: '^.{2}$' }], { w: '😀!' })).toStrictEqual({ w: '😀!' });
    expect(validate([{ field: 'z', pattern: '^\\d{5}$' }], { z: 75001 })).toStrictEqual({
      z: 75001,
    });
  });

  it('checks each row on its own', () => {
    const step = compileTransforms([
      { operation: 'validate', rules: [{ field: 'a', required: true }] },
    ]);
    expect(step({})).toStrictEqual(new RowRejected('a: is required'));
    expect(step({ a: 1 })).toStrictEqual({ a: 1 });
    expect(step({ a: null })).toStrictEqual(new RowRejected('a: is required'));
  });
});
