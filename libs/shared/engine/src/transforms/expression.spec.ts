import { compileExpression, errorSummary, ExpressionError, toRowValue } from './expression';

function evaluate(source: string, row: Record<string, unknown>): unknown {
  return compileExpression(source).evaluate(row);
}

/** The one-line error an expression throws for a row. */
function failure(source: string, row: Record<string, unknown>): string {
  try {
    evaluate(source, row);
  } catch (error) {
    return errorSummary(error);
  }
  throw new Error(`expected ${source} to fail`);
}

function compileError(source: string): string {
  try {
    compileExpression(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return (error as Error).message;
  }
  throw new Error(`expected ${source} not to compile`);
}

describe('expressions (CEL)', () => {
  const row = { amount: 150.5, city: 'Paris', name: 'Ada', email: 'ada@example.com', qty: 3 };

  it('reads fields as variables, compiled once and evaluated per row', () => {
    const filter = compileExpression('amount > 100 && city == "Paris"');
    expect(filter.type).toBe('bool');
    expect(filter.evaluate(row)).toBe(true);
    expect(filter.evaluate({ ...row, city: 'Lyon' })).toBe(false);
    expect(filter.evaluate({ ...row, amount: 99 })).toBe(false);
    expect(evaluate('name + " <" + email + ">"', row)).toBe('Ada <ada@example.com>');
  });

  it('reaches any field through `row`, including names that are not identifiers', () => {
    const odd = { 'first name': 'Ada', 'order-id': 'A-1', row: 'own field' };
    expect(evaluate('row["first name"] + "/" + row["order-id"]', odd)).toBe('Ada/A-1');
    expect(evaluate('row.row', odd)).toBe('own field');
    expect(evaluate('has(row.email) ? email : "none"', row)).toBe('ada@example.com');
    expect(evaluate('has(row.phone) ? phone : "none"', row)).toBe('none');
  });

  it('mixes row numbers (doubles) with integer literals in arithmetic', () => {
    expect(evaluate('qty + 1', row)).toBe(4);
    expect(evaluate('2 * qty - 1', row)).toBe(5);
    expect(evaluate('qty / 2', row)).toBe(1.5);
    expect(evaluate('amount * 1.1 > 165', row)).toBe(true);
    expect(evaluate('int(qty) % 2', row)).toBe(1n);
  });

  it('refuses to compare CSV strings with numbers until they are converted', () => {
    const csv = { amount: '150.5', city: 'Paris', qty: '3' };
    expect(failure('amount > 100', csv)).toBe('no such overload: dyn<string> > int');
    expect(evaluate('double(amount) > 100', csv)).toBe(true);
    expect(evaluate('int(qty) + 1', csv)).toBe(4n);
    expect(evaluate('amount == "150.5" && city == "Paris"', csv)).toBe(true);
    expect(failure('int(amount) > 1', csv)).toBe('int() type error: cannot convert to int');
  });

  it('reports a field missing from the row, and lets `&&` and `has` guard it', () => {
    expect(failure('discount > 0', row)).toBe('Unknown variable: discount');
    expect(evaluate('has(row.discount) && discount > 0', row)).toBe(false);
    expect(failure('discount > 0', { discount: null })).toBe('no such overload: dyn<null> > int');
  });

  it('offers the CEL standard functions', () => {
    expect(evaluate('email.endsWith("@example.com") && name.startsWith("A")', row)).toBe(true);
    expect(evaluate('email.split("@")[1]', row)).toBe('example.com');
    expect(evaluate('size(name)', row)).toBe(3n);
    expect(evaluate('name.matches("^[A-Z][a-z]+$")', row)).toBe(true);
    expect(evaluate('city in ["Paris", "Lyon"]', row)).toBe(true);
    expect(evaluate('name.upperAscii() + "-" + string(qty)', row)).toBe('ADA-3');
    expect(evaluate('qty > 2 ? "many" : "few"', row)).toBe('many');
  });

  describe('cannot reach outside the row', () => {
    const nested = { name: 'Ada', tags: ['a'], meta: { k: 1 } };

    it.each([
      ['constructor', 'Unknown variable: constructor'],
      ['toString', 'Unknown variable: toString'],
      ['hasOwnProperty', 'Unknown variable: hasOwnProperty'],
      ['process', 'Unknown variable: process'],
      ['globalThis', 'Unknown variable: globalThis'],
      ['require', 'Unknown variable: require'],
      ['this', 'Unknown variable: this'],
      ['row.constructor', 'No such key: constructor'],
      ['row["__proto__"]', 'No such key: __proto__'],
      ['name.constructor', 'No such key: constructor'],
      ['meta.constructor', 'No such key: constructor'],
      ['meta["__proto__"]', 'No such key: __proto__'],
      ['tags.constructor', 'No such key: constructor'],
    ])('%s fails at run time', (source, message) => {
      expect(failure(source, nested)).toBe(message);
    });

    it.each([
      ['__proto__', 'Reserved identifier: __proto__ (column 1)'],
      ['"".constructor', "Cannot index type 'string' (column 4)"],
      ['name.constructor.constructor("return process")()', "Unexpected character: '(' (column 47)"],
      ['eval("1")', "found no matching overload for 'eval(string)' (column 1)"],
      ['name.toString()', "found no matching overload for 'dyn.toString()' (column 1)"],
    ])('%s does not compile', (source, message) => {
      expect(compileError(source)).toBe(message);
    });

    it('never hands back a function or a prototype', () => {
      for (const source of ['row', 'meta', 'tags']) {
        const value = evaluate(source, nested);
        expect(typeof value).toBe('object');
        expect(Object.getPrototypeOf(value)).toBe(
          Array.isArray(value) ? Array.prototype : Object.prototype,
        );
      }
    });
  });

  it('names the position of a syntax error, with the line for multi-line text', () => {
    expect(compileError('amount >')).toBe('Unexpected token: EOF (column 9)');
    expect(compileError('a ? b')).toBe('Expected COLON, got EOF (column 6)');
    expect(compileError('"open')).toBe('Unterminated string (column 1)');
    expect(compileError('a\n  && b +')).toBe('Unexpected token: EOF (line 2, column 9)');
  });

  it('rejects type errors found at compile time', () => {
    expect(compileError('"a" + 1')).toBe('no such overload: string + int (column 1)');
    expect(compileError('nosuch(1)')).toBe(
      "found no matching overload for 'nosuch(int)' (column 1)",
    );
  });

  it('gives the static result type', () => {
    expect(compileExpression('1 + 2').type).toBe('int');
    expect(compileExpression('name').type).toBe('dyn');
    expect(compileExpression('"a" + name').type).toBe('string');
  });

  describe('toRowValue', () => {
    it('turns CEL ints into numbers and keeps scalars', () => {
      expect(toRowValue(3n)).toBe(3);
      expect(toRowValue('x')).toBe('x');
      expect(toRowValue(1.5)).toBe(1.5);
      expect(toRowValue(false)).toBe(false);
      expect(toRowValue(null)).toBeNull();
      expect(toRowValue(undefined)).toBeNull();
    });

    it('converts timestamps, lists and maps', () => {
      expect(toRowValue(evaluate('timestamp("2024-05-01T10:00:00+02:00")', {}))).toBe(
        '2024-05-01T08:00:00.000Z',
      );
      expect(toRowValue(evaluate('[1, 2].map(x, x * 10)', {}))).toStrictEqual([10, 20]);
      expect(toRowValue(evaluate('{"a": [1], "b": [2, 3]}', {}))).toStrictEqual({
        a: [1],
        b: [2, 3],
      });
      expect(toRowValue(new Map([['k', 2n]]))).toStrictEqual({ k: 2 });
    });

    it('never turns a __proto__ key of a map literal into a prototype', () => {
      const value = toRowValue(evaluate('{"__proto__": {"x": 1}}', {})) as { x?: unknown };
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(value.x).toBeUndefined();
      expect(({} as { x?: unknown }).x).toBeUndefined();
    });

    it('keeps a __proto__ key of a map a plain key', () => {
      const value = toRowValue(new Map([['__proto__', { x: 1 }]])) as object;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.keys(value)).toStrictEqual(['__proto__']);
    });

    it.each([
      [2n ** 60n, 'result 1152921504606846976 is outside the safe integer range'],
      [Infinity, 'result Infinity is not a finite number'],
      [NaN, 'result NaN is not a finite number'],
      [new Uint8Array([1]), 'result of type bytes cannot be stored in a row'],
    ])('refuses %p', (value, message) => {
      expect(() => toRowValue(value)).toThrow(message);
    });

    it('refuses durations and types', () => {
      expect(() => toRowValue(evaluate('duration("1h")', {}))).toThrow(
        'result of type google.protobuf.Duration cannot be stored in a row',
      );
      expect(() => toRowValue(evaluate('type(1)', {}))).toThrow(
        'result of type Type<int> cannot be stored in a row',
      );
    });
  });

  it('summarises any error in one line', () => {
    expect(errorSummary(new Error('first\nsecond'))).toBe('first');
    expect(errorSummary('plain')).toBe('plain');
  });
});
