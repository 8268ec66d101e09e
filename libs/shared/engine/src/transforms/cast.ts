/** The `cast` operation and the conversions `validate`'s `type` rule checks against. */
import type { CAST_TYPES } from '@cloudflow/contracts';
import { RowRejected, type Row } from '../model';
import { describeValue, isBlank, toText } from './values';

export type CastType = (typeof CAST_TYPES)[number];

/** Returned by a converter for a value that does not convert. */
export const NOT_CONVERTIBLE: unique symbol = Symbol('not convertible');

/** Converts a non-blank value, or returns {@link NOT_CONVERTIBLE}. */
export type Converter = (value: unknown) => unknown;

// Decimal notation only: no hex, no Infinity, no thousands separators.
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
// Date, optional time (T or space), optional fraction and zone.
const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

const BOOLEAN_WORDS = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['yes', true],
  ['no', false],
  ['1', true],
  ['0', false],
]);

function toNumber(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : NOT_CONVERTIBLE;
  if (typeof value !== 'string') return NOT_CONVERTIBLE;
  const text = value.trim();
  return NUMBER_TEXT.test(text) ? Number(text) : NOT_CONVERTIBLE;
}

function toInteger(value: unknown): unknown {
  const number = toNumber(value);
  return typeof number === 'number' && Number.isSafeInteger(number) ? number : NOT_CONVERTIBLE;
}

function toBoolean(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (value === 1) return true;
  if (value === 0) return false;
  if (typeof value !== 'string' || value.length > 7) return NOT_CONVERTIBLE;
  return BOOLEAN_WORDS.get(value.trim().toLowerCase()) ?? NOT_CONVERTIBLE;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
}

function toDate(value: unknown): unknown {
  if (typeof value !== 'string') return NOT_CONVERTIBLE;
  const text = value.trim();
  const match = DATE_TEXT.exec(text);
  if (!match || !isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
    return NOT_CONVERTIBLE;
  }
  return text;
}

/** ISO 8601 to an ISO string in UTC; no zone means UTC, never the server's zone. */
function toTimestamp(value: unknown): unknown {
  if (typeof value !== 'string') return NOT_CONVERTIBLE;
  const m = TIMESTAMP_TEXT.exec(value.trim());
  if (!m) return NOT_CONVERTIBLE;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone] = m;
  if (!isCalendarDate(Number(year), Number(month), Number(day))) return NOT_CONVERTIBLE;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return NOT_CONVERTIBLE;
  let offset = 'Z';
  if (zone && zone !== 'Z' && zone !== 'z') {
    const digits = zone.replace(':', '');
    if (Number(digits.slice(1, 3)) > 23 || Number(digits.slice(3, 5) || '0') > 59) {
      return NOT_CONVERTIBLE;
    }
    offset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
  }
  const millis = fraction.slice(0, 3).padEnd(3, '0');
  const time = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}${offset}`);
  return Number.isNaN(time) ? NOT_CONVERTIBLE : new Date(time).toISOString();
}

export const CONVERTERS: Readonly<Record<CastType, Converter>> = {
  string: toText,
  integer: toInteger,
  number: toNumber,
  boolean: toBoolean,
  date: toDate,
  timestamp: toTimestamp,
};

export const TYPE_DESCRIPTIONS: Readonly<Record<CastType, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  date: 'a date (YYYY-MM-DD)',
  timestamp: 'an ISO 8601 timestamp',
};

/**
 * Converts the listed fields; blank or missing becomes null. A row with a
 * value that does not convert is rejected, naming every such field, and is
 * left unchanged.
 */
export function compileCast(
  types: Readonly<Record<string, CastType>>,
): (row: Row) => Row | RowRejected {
  // `value` is a slot reused for every row: results are written to the row
  // only once every field converted.
  const plan = Object.entries(types).map(([field, type]) => ({
    field,
    convert: CONVERTERS[type],
    description: TYPE_DESCRIPTIONS[type],
    value: null as unknown,
  }));
  return (row) => {
    let problems: string[] | undefined;
    for (const step of plan) {
      const value = row[step.field];
      if (isBlank(value)) {
        step.value = null;
        continue;
      }
      const result = step.convert(value);
      if (result === NOT_CONVERTIBLE) {
        (problems ??= []).push(
          `field '${step.field}' value ${describeValue(value)} is not ${step.description}`,
        );
      } else {
        step.value = result;
      }
    }
    if (problems) return new RowRejected(`cast: ${problems.join('; ')}`);
    for (const step of plan) row[step.field] = step.value;
    return row;
  };
}
