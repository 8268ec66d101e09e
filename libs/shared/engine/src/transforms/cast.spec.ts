import { RowRejected, type Row } from '../model';
import { compileTransforms } from './compile-transforms';
import type { CastType } from './cast';

function cast(types: Record<string, CastType>, row: Row) {
  return compileTransforms([{ operation: 'cast', types }])(row);
}

function castOne(type: CastType, value: unknown): unknown {
  const out = cast({ v: type }, { v: value });
  return out instanceof RowRejected ? out : (out as Row).v;
}

describe('cast', () => {
  it('converts CSV strings to integers, numbers and booleans', () => {
    expect(
      cast(
        { age: 'integer', amount: 'number', vip: 'boolean', id: 'string' },
        { age: '42', amount: '150.5', vip: 'Yes', id: 7, other: 'x' },
      ),
    ).toStrictEqual({ age: 42, amount: 150.5, vip: true, id: '7', other: 'x' });
  });

  it.each([
    ['integer', ' -17 ', -17],
    ['integer', '+3', 3],
    ['integer', '42.0', 42],
    ['integer', 12, 12],
    ['number', '-.5', -0.5],
    ['number', '1e3', 1000],
    ['number', 2.25, 2.25],
    ['boolean', 'TRUE', true],
    ['boolean', 'false', false],
    ['boolean', 'no', false],
    ['boolean', '1', true],
    ['boolean', '0', false],
    ['boolean', 0, false],
    ['boolean', true, true],
    ['string', false, 'false'],
    ['string', { a: 1 }, '{"a":1}'],
    ['date', '2024-02-29', '2024-02-29'],
    ['timestamp', '2024-03-01T10:20:30Z', '2024-03-01T10:20:30.000Z'],
    ['timestamp', '2024-03-01T10:20:30+02:00', '2024-03-01T08:20:30.000Z'],
    ['timestamp', '2024-03-01 10:20:30.123456-0130', '2024-03-01T11:50:30.123Z'],
    ['timestamp', '2024-03-01T10:20', '2024-03-01T10:20:00.000Z'],
    ['timestamp', '2024-03-01', '2024-03-01T00:00:00.000Z'],
  ] as const)('%s: %j -> %j', (type, input, expected) => {
    expect(castOne(type, input)).toStrictEqual(expected);
  });

  it('turns the empty string and a missing field into null', () => {
    expect(cast({ a: 'integer', b: 'date', c: 'string' }, { a: '', c: '' })).toStrictEqual({
      a: null,
      b: null,
      c: null,
    });
  });

  it.each([
    ['integer', 'abc', "cast: field 'v' value 'abc' is not an integer"],
    ['integer', '4.5', "cast: field 'v' value '4.5' is not an integer"],
    ['integer', '0x10', "cast: field 'v' value '0x10' is not an integer"],
    ['number', '1,5', "cast: field 'v' value '1,5' is not a number"],
    ['number', 'Infinity', "cast: field 'v' value 'Infinity' is not a number"],
    ['number', true, "cast: field 'v' value true is not a number"],
    ['boolean', 'maybe', "cast: field 'v' value 'maybe' is not a boolean"],
    ['boolean', 2, "cast: field 'v' value 2 is not a boolean"],
    ['date', '2023-02-29', "cast: field 'v' value '2023-02-29' is not a date (YYYY-MM-DD)"],
    ['date', '2024-1-5', "cast: field 'v' value '2024-1-5' is not a date (YYYY-MM-DD)"],
    [
      'timestamp',
      'March 7, 2024',
      "cast: field 'v' value 'March 7, 2024' is not an ISO 8601 timestamp",
    ],
    [
      'timestamp',
      '2024-03-01T25:00:00Z',
      "cast: field 'v' value '2024-03-01T25:00:00Z' is not an ISO 8601 timestamp",
    ],
  ] as const)('%s rejects %j', (type, input, reason) => {
    expect(castOne(type, input)).toStrictEqual(new RowRejected(reason));
  });

  it('names every field that does not convert and leaves the row unchanged', () => {
    const row = { age: 'abc', amount: '3', when: 'soon' };
    expect(cast({ age: 'integer', amount: 'number', when: 'date' }, row)).toStrictEqual(
      new RowRejected(
        "cast: field 'age' value 'abc' is not an integer; field 'when' value 'soon' is not a date (YYYY-MM-DD)",
      ),
    );
    expect(row).toStrictEqual({ age: 'abc', amount: '3', when: 'soon' });
  });

  it('cuts long values in the reason', () => {
    const long = 'x'.repeat(100);
    expect(castOne('number', long)).toStrictEqual(
      new RowRejected(`cast: field 'v' value '${'x'.repeat(60)}…' is not a number`),
    );
  });
});
