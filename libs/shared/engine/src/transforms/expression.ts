/**
 * The expression language of `filter` and `derive`: CEL (the Common Expression
 * Language) through @marcbachmann/cel-js, an interpreter without code
 * generation. See docs/adr/0006-expression-language.md and ./README.md.
 */
// ESM-only: Node >= 20.19 (package.json engines) require()s it natively;
// Jest needs jest.preset.js to transform it (transformIgnorePatterns).
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { Row } from '../model';

/** The variable holding the whole row, for field names that are not identifiers. */
export const ROW_VARIABLE = 'row';

/** A syntax or type error found when compiling an expression. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

export interface Expression {
  readonly source: string;
  /** The checker's static result type: `bool`, `int`, `double`, `string`, `dyn`, … */
  readonly type: string;
  /** Evaluates against one row; throws when the row does not fit (use {@link errorSummary}). */
  evaluate(row: Row): unknown;
}

let environment: Environment | undefined;

function celEnvironment(): Environment {
  if (environment) return environment;
  const env = new Environment({
    // Every identifier other than `row` is a field of the row, of any type.
    unlistedVariablesAreDyn: true,
    limits: { maxAstNodes: 2000, maxDepth: 64 },
  }).registerVariable(ROW_VARIABLE, 'map');
  // Rows carry JavaScript numbers, which CEL types as double, while literals
  // like `1` are int: plain CEL rejects `qty + 1` (comparisons already mix).
  // The declared double result keeps the checker from typing `2 * qty` as int.
  for (const [op, apply] of [
    ['+', (a: number, b: number) => a + b],
    ['-', (a: number, b: number) => a - b],
    ['*', (a: number, b: number) => a * b],
    ['/', (a: number, b: number) => a / b],
  ] as const) {
    const handler = (a: unknown, b: unknown) => apply(Number(a), Number(b));
    env.registerOperator(`double ${op} int: double`, handler);
    env.registerOperator(`int ${op} double: double`, handler);
  }
  environment = env;
  return env;
}

/**
 * Compiles an expression once. Its identifiers read the row's fields of that
 * name; `row` is the whole row (`row["first name"]`, `has(row.email)`).
 * Throws {@link ExpressionError} on a syntax or type error.
 */
export function compileExpression(source: string): Expression {
  const env = celEnvironment();
  let program: ParseResult;
  try {
    program = env.parse(source);
  } catch (error) {
    throw new ExpressionError(located(error, source));
  }
  const checked = program.check();
  if (!checked.valid) throw new ExpressionError(located(checked.error, source));

  const type = String(checked.type);
  const names = [...identifiers(program.ast)];
  // Usually the row itself is the context (measured ~1.6x faster than
  // copying). CEL reads variables with `context[name]`, so when a name could
  // resolve to an Object.prototype member, or `row` is used, only the named
  // own fields are copied into a context reused for every row.
  if (!names.some((name) => name === ROW_VARIABLE || name in Object.prototype)) {
    return { source, type, evaluate: (row) => program(row) };
  }
  const fields = names.filter((name) => name !== ROW_VARIABLE);
  const context: Record<string, unknown> = { [ROW_VARIABLE]: undefined };
  for (const name of fields) context[name] = undefined;
  const hasOwn = Object.prototype.hasOwnProperty;
  return {
    source,
    type,
    evaluate(row: Row): unknown {
      context[ROW_VARIABLE] = row;
      for (const name of fields) {
        // undefined makes CEL report "Unknown variable: <name>".
        context[name] = hasOwn.call(row, name) ? row[name] : undefined;
      }
      return program(context);
    },
  };
}

function identifiers(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const child of node) identifiers(child, found);
  } else if (node !== null && typeof node === 'object' && 'op' in node && 'args' in node) {
    const { op, args } = node as { op: unknown; args: unknown };
    if (op === 'id' && typeof args === 'string') found.add(args);
    else identifiers(args, found);
  }
  return found;
}

/** One line describing an error thrown by an expression (or anything else). */
export function errorSummary(error: unknown): string {
  // CEL's errors carry a one-line `summary`; their `message` adds a source diagram.
  if (error !== null && typeof error === 'object') {
    const { summary, message } = error as { summary?: unknown; message?: unknown };
    if (typeof summary === 'string' && summary) return summary;
    if (typeof message === 'string') return message.split('\n', 1)[0] ?? message;
  }
  return String(error);
}

function located(error: unknown, source: string): string {
  const summary = errorSummary(error);
  const range = (error as { range?: { start?: unknown } } | undefined)?.range;
  const start = range?.start;
  if (typeof start !== 'number') return summary;
  const before = source.slice(0, start);
  const line = before.split('\n').length;
  const column = start - before.lastIndexOf('\n');
  return line > 1 ? `${summary} (line ${line}, column ${column})` : `${summary} (column ${column})`;
}

const INVALID_RESULT = Symbol('invalid result');

/**
 * Turns an expression result into a value a row can hold (what JSON and BSON
 * store): CEL ints (bigint) become numbers, timestamps ISO strings, maps
 * objects. Throws when it cannot.
 */
export function toRowValue(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new Error(`result ${value} is not a finite number`);
    case 'bigint': {
      const asNumber = Number(value);
      if (Number.isSafeInteger(asNumber)) return asNumber;
      throw new Error(`result ${value} is outside the safe integer range`);
    }
    case 'undefined':
      return null;
    case 'object': {
      if (value === null) return null;
      const converted = structured(value);
      if (converted !== INVALID_RESULT) return converted;
      throw new Error(`result of type ${typeName(value)} cannot be stored in a row`);
    }
    default:
      throw new Error(`result of type ${typeof value} cannot be stored in a row`);
  }
}

function structured(value: object): unknown {
  if (Array.isArray(value)) return value.map(toRowValue);
  const tag = Object.prototype.toString.call(value);
  if (tag === '[object Date]') return (value as Date).toISOString();
  if (tag === '[object Map]') {
    const out: Row = {};
    for (const [key, item] of value as Map<unknown, unknown>) setField(out, String(key), item);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  const plain = proto === null || Object.getPrototypeOf(proto) === null;
  if (!plain || ArrayBuffer.isView(value)) return INVALID_RESULT;
  const out: Row = {};
  for (const [key, item] of Object.entries(value)) setField(out, key, item);
  return out;
}

function setField(out: Row, key: string, item: unknown): void {
  // A `__proto__` key from a map literal must stay a key, not become the prototype.
  Object.defineProperty(out, key, {
    value: toRowValue(item),
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function typeName(value: object): string {
  if (ArrayBuffer.isView(value)) return 'bytes';
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  return tag === 'Object' ? (value.constructor?.name ?? 'object') : tag;
}
