import type { TransformConfig } from '@cloudflow/contracts';
import { RowRejected, type Row } from '../model';
import { compileTransforms, TransformConfigError } from './compile-transforms';

function configError(configs: unknown[]): TransformConfigError {
  try {
    compileTransforms(configs as TransformConfig[]);
  } catch (error) {
    expect(error).toBeInstanceOf(TransformConfigError);
    return error as TransformConfigError;
  }
  throw new Error('expected a TransformConfigError');
}

describe('compileTransforms', () => {
  it('returns the row itself when there are no transforms', () => {
    const row = { a: 1 };
    expect(compileTransforms([])(row)).toBe(row);
  });

  it('runs a cast, filter, derive and select chain row by row', () => {
    const transform = compileTransforms([
      { operation: 'trim' },
      { operation: 'cast', types: { amount: 'number' } },
      { operation: 'filter', expression: 'amount > 100 && city == "Paris"' },
      { operation: 'derive', field: 'amount_eur', expression: 'amount * 0.9' },
      { operation: 'derive', field: 'contact', expression: 'name + " <" + email + ">"' },
      { operation: 'select', fields: ['contact', 'amount_eur'] },
    ]);
    const rows: Row[] = [
      { name: 'Ada', email: 'ada@example.com', amount: ' 150 ', city: 'Paris' },
      { name: 'Bob', email: 'bob@example.com', amount: '50', city: 'Paris' },
      { name: 'Cy', email: 'cy@example.com', amount: '500', city: 'Lyon' },
      { name: 'Di', email: 'di@example.com', amount: 'lots', city: 'Paris' },
    ];
    expect(rows.map((row) => transform(row))).toStrictEqual([
      { contact: 'Ada <ada@example.com>', amount_eur: 135 },
      null,
      null,
      new RowRejected("cast: field 'amount' value 'lots' is not a number"),
    ]);
  });

  it('keeps rows whose filter is true and drops the others, row after row', () => {
    const transform = compileTransforms([
      { operation: 'filter', expression: 'row.tier in ["gold", "silver"]' },
    ]);
    expect(transform({ tier: 'gold' })).toStrictEqual({ tier: 'gold' });
    expect(transform({ tier: 'bronze' })).toBeNull();
    expect(transform({ tier: 'silver' })).toStrictEqual({ tier: 'silver' });
  });

  it('uses the truthiness of a dynamically typed filter result', () => {
    const transform = compileTransforms([{ operation: 'filter', expression: 'active' }]);
    expect(transform({ active: true })).toStrictEqual({ active: true });
    expect(transform({ active: false })).toBeNull();
    expect(transform({ active: '' })).toBeNull();
    expect(transform({ active: null })).toBeNull();
  });

  it('turns an expression error on a row into a rejection naming the step', () => {
    const transform = compileTransforms([
      { operation: 'derive', field: 'amount_eur', expression: 'amount * 0.9' },
      { operation: 'filter', expression: 'amount_eur > 100' },
    ]);
    expect(transform({ amount: '150.5' })).toStrictEqual(
      new RowRejected('derive amount_eur: no such overload: dyn<string> * double'),
    );
    expect(transform({ price: 1 })).toStrictEqual(
      new RowRejected('derive amount_eur: Unknown variable: amount'),
    );
    expect(transform({ amount: 200 })).toStrictEqual({ amount: 200, amount_eur: 180 });
  });

  it('rejects in a filter with the expression quoted', () => {
    const transform = compileTransforms([{ operation: 'filter', expression: 'amount > 100' }]);
    expect(transform({ amount: '150.5' })).toStrictEqual(
      new RowRejected("filter 'amount > 100': no such overload: dyn<string> > int"),
    );
    expect(transform({ amount: null })).toStrictEqual(
      new RowRejected("filter 'amount > 100': no such overload: dyn<null> > int"),
    );
  });

  it('rejects a derived value a row cannot hold', () => {
    const transform = compileTransforms([
      { operation: 'derive', field: 'ratio', expression: 'total / count' },
    ]);
    expect(transform({ total: 1, count: 0 })).toStrictEqual(
      new RowRejected('derive ratio: result Infinity is not a finite number'),
    );
    expect(transform({ total: 3, count: 2 })).toStrictEqual({ total: 3, count: 2, ratio: 1.5 });
  });

  it('stores CEL ints, lists and timestamps as plain values', () => {
    const transform = compileTransforms([
      { operation: 'derive', field: 'len', expression: 'size(name)' },
      { operation: 'derive', field: 'parts', expression: 'name.split(" ")' },
      { operation: 'derive', field: 'at', expression: 'timestamp(ts)' },
    ]);
    expect(transform({ name: 'Ada Lovelace', ts: '2024-05-01T10:00:00Z' })).toStrictEqual({
      name: 'Ada Lovelace',
      ts: '2024-05-01T10:00:00Z',
      len: 12,
      parts: ['Ada', 'Lovelace'],
      at: '2024-05-01T10:00:00.000Z',
    });
  });

  it('stops at the first rejection', () => {
    const transform = compileTransforms([
      { operation: 'validate', rules: [{ field: 'email', required: true }] },
      { operation: 'uppercase' },
    ]);
    const row = { email: '', name: 'ada' };
    expect(transform(row)).toStrictEqual(new RowRejected('email: is required'));
    expect(row).toStrictEqual({ email: '', name: 'ada' });
  });

  it('sees fields renamed, derived and cast by earlier steps', () => {
    const transform = compileTransforms([
      { operation: 'rename', mapping: { 'Unit Price': 'price' } },
      { operation: 'cast', types: { price: 'number', qty: 'integer' } },
      { operation: 'derive', field: 'total', expression: 'price * qty' },
      { operation: 'filter', expression: 'total >= 10' },
      { operation: 'drop', fields: ['qty'] },
      { operation: 'fill', values: { note: 'none' } },
      { operation: 'mask', fields: ['card'] },
      { operation: 'reverse', fields: ['code'] },
    ]);
    expect(
      transform({ 'Unit Price': '2.5', qty: '4', card: '4111111111111111', code: 'abc' }),
    ).toStrictEqual({
      price: 2.5,
      card: '************1111',
      code: 'cba',
      total: 10,
      note: 'none',
    });
    expect(transform({ 'Unit Price': '2.5', qty: '3', card: 'x', code: 'y' })).toBeNull();
  });

  it('runs the README examples', () => {
    const row = {
      amount: 150,
      raw: '150.5',
      city: 'Paris',
      email: 'ada@example.com',
      name: 'Ada',
      qty: 12,
      created_at: '2024-03-01T09:00:00Z',
      'first name': ' Ada ',
      'last name': 'Lovelace',
    };
    const filters = [
      'amount > 100 && city == "Paris"',
      'double(raw) > 100.0 && city in ["Paris", "Lyon"]',
      'has(row.email) && email.endsWith("@example.com")',
      'timestamp(created_at) >= timestamp("2024-01-01T00:00:00Z")',
      'amount != null && amount > 100',
      'int(qty) % 2 == 0',
    ];
    for (const expression of filters) {
      expect(compileTransforms([{ operation: 'filter', expression }])({ ...row })).toStrictEqual(
        row,
      );
    }
    const derived = compileTransforms([
      { operation: 'derive', field: 'contact', expression: 'name + " <" + email + ">"' },
      { operation: 'derive', field: 'net', expression: 'amount * 0.92' },
      { operation: 'derive', field: 'kind', expression: 'qty > 10 ? "bulk" : "retail"' },
      {
        operation: 'derive',
        field: 'full',
        expression: 'row["first name"].trim() + " " + row["last name"].upperAscii()',
      },
      { operation: 'derive', field: 'ref', expression: '"#" + string(qty + 1)' },
      { operation: 'select', fields: ['contact', 'net', 'kind', 'full', 'ref'] },
    ])({ ...row });
    expect(derived).toStrictEqual({
      contact: 'Ada <ada@example.com>',
      net: 138,
      kind: 'bulk',
      full: 'Ada LOVELACE',
      ref: '#13',
    });
  });

  describe('refuses at compile time', () => {
    it('a bad expression, naming the step index and operation', () => {
      const error = configError([
        { operation: 'trim' },
        { operation: 'uppercase' },
        { operation: 'filter', expression: 'amount >' },
      ]);
      expect(error.message).toBe(
        'transform 2 (filter): expression: Unexpected token: EOF (column 9)',
      );
      expect(error.index).toBe(2);
      expect(error.operation).toBe('filter');
      expect(error.name).toBe('TransformConfigError');
    });

    it.each([
      [
        { operation: 'derive', field: 'x', expression: 'a +* b' },
        'transform 0 (derive): expression: Unexpected token: MULTIPLY (column 4)',
      ],
      [
        { operation: 'derive', field: 'x', expression: '"a" + 1' },
        'transform 0 (derive): expression: no such overload: string + int (column 1)',
      ],
      [
        { operation: 'filter', expression: '1 + 2' },
        'transform 0 (filter): expression: must evaluate to bool, not int',
      ],
      [
        { operation: 'filter', expression: 'name.size()' },
        'transform 0 (filter): expression: must evaluate to bool, not int',
      ],
      [
        { operation: 'filter', expression: '__proto__ == 1' },
        'transform 0 (filter): expression: Reserved identifier: __proto__ (column 1)',
      ],
    ])('expression %j', (config, message) => {
      expect(configError([config]).message).toBe(message);
    });

    it.each([
      [
        { operation: 'explode' },
        'transform 0 (explode): unknown operation; expected one of uppercase, lowercase, reverse, trim, filter, select, drop, rename, cast, derive, fill, mask, hash, validate',
      ],
      [{ fields: ['a'] }, "transform 0 (?): missing required field 'operation'"],
      [
        { operation: 'select', fields: [] },
        'transform 0 (select): fields: Too small: expected array to have >=1 items',
      ],
      [
        { operation: 'select', fields: ['a.b'] },
        "transform 0 (select): fields[0]: must not start with '$' or contain '.'",
      ],
      [
        { operation: 'mask', fields: ['a'], char: '**' },
        'transform 0 (mask): char: Too big: expected string to have <=1 characters',
      ],
      [
        { operation: 'cast', types: { a: 'float' } },
        'transform 0 (cast): types.a: Invalid option: expected one of "string"|"integer"|"number"|"boolean"|"date"|"timestamp"',
      ],
      [
        { operation: 'validate', rules: [{ field: 'a', pattern: '(' }] },
        'transform 0 (validate): rules[0].pattern: must be a valid regular expression',
      ],
      [{ operation: 'uppercase', extra: 1 }, 'transform 0 (uppercase): Unrecognized key: "extra"'],
      [
        { operation: 'rename', mapping: { a: 'x', b: 'x' } },
        "transform 0 (rename): fields 'a' and 'b' are both renamed to 'x'",
      ],
      [
        { operation: 'derive', field: '__proto__', expression: '1' },
        "transform 0 (derive): field name '__proto__' is not allowed",
      ],
      // zod drops a __proto__ record key, leaving the map empty
      [
        JSON.parse('{"operation": "fill", "values": {"__proto__": 1}}'),
        'transform 0 (fill): values: must name at least one field',
      ],
      [
        JSON.parse('{"operation": "rename", "mapping": {"a": "__proto__"}}'),
        "transform 0 (rename): field name '__proto__' is not allowed",
      ],
    ])('config %j', (config, message) => {
      expect(configError([config]).message).toBe(message);
    });
  });

  it('compiles the trimmed expression the schema produces', () => {
    const transform = compileTransforms([{ operation: 'filter', expression: '  ok  ' }]);
    expect(transform({ ok: true })).toStrictEqual({ ok: true });
  });
});
