import { BSON } from 'mongodb';
import type { ConnectionOptions } from 'mysql2';
import { types as pgTypes, type CustomTypesConfig } from 'pg';
import type { Row } from './model';

/**
 * Rows leave a database as plain JSON values, the same whatever the driver:
 * dates as ISO 8601 strings, exact numbers (bigint, numeric, decimal) as
 * strings so no digit is lost, bytes as base64, JSON columns as objects, and
 * MongoDB's own types (ObjectId, Decimal128, Long) as strings or numbers.
 */
export function plainRow(row: Record<string, unknown>): Row {
  const plain: Row = {};
  for (const [field, value] of Object.entries(row)) plain[field] = plainValue(value);
  return plain;
}

export function plainValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // NaN and ±Infinity have no JSON form.
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'object':
      return plainObject(value);
    default:
      return String(value);
  }
}

function plainObject(value: object): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plainValue);
  if ('_bsontype' in value) return plainBson(value as { _bsontype: string });
  const plain: Record<string, unknown> = {};
  for (const [field, inner] of Object.entries(value)) plain[field] = plainValue(inner);
  return plain;
}

function plainBson(value: { _bsontype: string }): unknown {
  if (value instanceof BSON.ObjectId) return value.toHexString();
  if (value instanceof BSON.Decimal128) return value.toString();
  // A Timestamp is a Long underneath, but is no number: it keeps its Extended JSON form.
  if (value instanceof BSON.Timestamp) return BSON.EJSON.serialize(value, { relaxed: true });
  if (value instanceof BSON.Long) {
    return value.lessThanOrEqual(Number.MAX_SAFE_INTEGER) &&
      value.greaterThanOrEqual(Number.MIN_SAFE_INTEGER)
      ? value.toNumber()
      : value.toString();
  }
  if (value instanceof BSON.Int32 || value instanceof BSON.Double) return value.valueOf();
  if (value instanceof BSON.Binary) {
    return value.sub_type === BSON.Binary.SUBTYPE_UUID
      ? value.toUUID().toHexString(true)
      : Buffer.from(value.buffer).toString('base64');
  }
  // Timestamps, regular expressions, code, MinKey/MaxKey: their relaxed Extended JSON.
  return BSON.EJSON.serialize(value, { relaxed: true });
}

/** About how many bytes `rows` take as JSON: the honest size of a batch for progress. */
export function jsonBytes(rows: Row[]): number {
  return Buffer.byteLength(JSON.stringify(rows));
}

/**
 * PostgreSQL type parsers that keep dates and times exact: node-postgres's
 * defaults turn them into JS Dates, which drop microseconds and read a
 * `timestamp` (without time zone) in the worker's local zone. Sessions run
 * with TimeZone UTC, so `timestamptz` text always ends in `+00`.
 */
const PG_DATE = 1082;
const PG_TIME = 1083;
const PG_TIMETZ = 1266;
const PG_TIMESTAMP = 1114;
const PG_TIMESTAMPTZ = 1184;
const PG_INTERVAL = 1186;
const PG_TEXT_ARRAY = 1009;
const PG_ARRAY_OF: Record<number, number> = {
  1182: PG_DATE,
  1183: PG_TIME,
  1270: PG_TIMETZ,
  1115: PG_TIMESTAMP,
  1185: PG_TIMESTAMPTZ,
  1187: PG_INTERVAL,
};

function pgTemporal(oid: number, text: string): string {
  if (oid === PG_TIMESTAMP) return text.replace(' ', 'T');
  if (oid === PG_TIMESTAMPTZ) return text.replace(' ', 'T').replace(/\+00$/, 'Z');
  return text;
}

function mapNested(value: unknown, each: (text: string) => string): unknown {
  if (Array.isArray(value)) return value.map((inner) => mapNested(inner, each));
  return typeof value === 'string' ? each(value) : value;
}

/** node-postgres's own parsers, by any type id (its typings list only the built-in scalar ids). */
const defaultPgParser = pgTypes.getTypeParser as (
  oid: number,
  format?: 'text' | 'binary',
) => (text: string) => unknown;

export const PG_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === 'binary') return defaultPgParser(oid, format);
    if ([PG_DATE, PG_TIME, PG_TIMETZ, PG_TIMESTAMP, PG_TIMESTAMPTZ, PG_INTERVAL].includes(oid)) {
      return (text: string) => pgTemporal(oid, text);
    }
    const element = PG_ARRAY_OF[oid];
    if (element !== undefined) {
      const parseArray = defaultPgParser(PG_TEXT_ARRAY);
      return (text: string) => mapNested(parseArray(text), (item) => pgTemporal(element, item));
    }
    return defaultPgParser(oid);
  }) as CustomTypesConfig['getTypeParser'],
};

/**
 * MySQL dates as ISO 8601: the driver gives `YYYY-MM-DD HH:MM:SS` (dateStrings);
 * TIMESTAMP columns are read in a UTC session, so they are instants (`Z`),
 * DATETIME columns are wall-clock times and stay without a zone.
 */
type TypeCastFunction = Extract<ConnectionOptions['typeCast'], (...args: never[]) => unknown>;

export const MYSQL_TYPE_CAST: TypeCastFunction = (field, next) => {
  if (field.type === 'DATETIME' || field.type === 'DATETIME2') {
    return field.string()?.replace(' ', 'T') ?? null;
  }
  if (field.type === 'TIMESTAMP' || field.type === 'TIMESTAMP2') {
    const text = field.string();
    return text === null ? null : `${text.replace(' ', 'T')}Z`;
  }
  return next();
};
