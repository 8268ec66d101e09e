/**
 * select, drop, rename, fill, mask and hash. The first three build a new row:
 * `delete` turns a V8 object into a slow dictionary, and copying measured
 * faster than deleting, also for the steps that read the row afterwards.
 */
import { hash as digest } from 'node:crypto';
import type { Row } from '../model';
import { isBlank, toText } from './values';

const hasOwn = Object.prototype.hasOwnProperty;

/** Keeps the listed fields in the listed order; listed fields the row lacks stay absent. */
export function compileSelect(fields: readonly string[]): (row: Row) => Row {
  const list = [...new Set(fields)];
  return (row) => {
    const out: Row = {};
    for (const field of list) if (hasOwn.call(row, field)) out[field] = row[field];
    return out;
  };
}

export function compileDrop(fields: readonly string[]): (row: Row) => Row {
  const dropped = new Set(fields);
  return (row) => {
    const out: Row = {};
    for (const key in row) if (!dropped.has(key)) copyField(out, key, row[key]);
    return out;
  };
}

/**
 * Renames in place in the field order. A renamed field replaces a field that
 * already had the new name. Two fields renamed to one name are refused by the
 * caller before this is compiled.
 */
export function compileRename(mapping: Readonly<Record<string, string>>): (row: Row) => Row {
  const renames = new Map(Object.entries(mapping));
  // target -> source, to drop an existing field that a rename overwrites
  const sources = new Map([...renames].map(([source, target]) => [target, source]));
  return (row) => {
    const out: Row = {};
    for (const key in row) {
      const target = renames.get(key);
      if (target !== undefined) {
        out[target] = row[key];
      } else {
        const source = sources.get(key);
        if (source === undefined || !hasOwn.call(row, source)) copyField(out, key, row[key]);
      }
    }
    return out;
  };
}

/** Like `out[key] = value`, but a `__proto__` field read from input stays a field. */
function copyField(out: Row, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}

/** Sets defaults for missing, null or empty-string values. Mutates the row. */
export function compileFill(values: Readonly<Record<string, unknown>>): (row: Row) => Row {
  const defaults = Object.entries(values);
  return (row) => {
    for (const [field, value] of defaults) if (isBlank(row[field])) row[field] = value;
    return row;
  };
}

export interface MaskOptions {
  keepStart?: number;
  keepEnd?: number;
  char?: string;
}

/**
 * Replaces every code point but the first `keepStart` and last `keepEnd`
 * (defaults 0 and 4) with `char` (default `*`). A value no longer than
 * keepStart + keepEnd is masked whole, so a mask never shows a whole value.
 * Non-strings are masked as text; null and missing stay.
 */
export function compileMask(fields: readonly string[], options: MaskOptions): (row: Row) => Row {
  const keepStart = options.keepStart ?? 0;
  const keepEnd = options.keepEnd ?? 4;
  const char = options.char ?? '*';
  const list = [...new Set(fields)];
  const mask = (text: string): string => {
    const count = codePointCount(text);
    if (count <= keepStart + keepEnd) return char.repeat(count);
    const start = codeUnitOffset(text, keepStart);
    const end = codeUnitOffset(text, count - keepEnd);
    return text.slice(0, start) + char.repeat(count - keepStart - keepEnd) + text.slice(end);
  };
  return (row) => {
    for (const field of list) {
      const value = row[field];
      if (value !== undefined && value !== null) row[field] = mask(toText(value));
    }
    return row;
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function codePointCount(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) {
      count--;
      i++;
    }
  }
  return count;
}

/** The UTF-16 offset where code point number `index` starts. */
function codeUnitOffset(text: string, index: number): number {
  let offset = 0;
  for (let seen = 0; seen < index; seen++) {
    const pair =
      isHighSurrogate(text.charCodeAt(offset)) && isLowSurrogate(text.charCodeAt(offset + 1));
    offset += pair ? 2 : 1;
  }
  return offset;
}

export interface HashOptions {
  algorithm?: 'sha256' | 'sha512';
  salt?: string;
}

/** Hex digest of salt + value (values as text); null and missing stay null. */
export function compileHash(fields: readonly string[], options: HashOptions): (row: Row) => Row {
  const algorithm = options.algorithm ?? 'sha256';
  const salt = options.salt ?? '';
  const list = [...new Set(fields)];
  return (row) => {
    for (const field of list) {
      const value = row[field];
      if (value === undefined || value === null) {
        if (hasOwn.call(row, field)) row[field] = null;
      } else {
        row[field] = digest(algorithm, salt + toText(value), 'hex');
      }
    }
    return row;
  };
}
