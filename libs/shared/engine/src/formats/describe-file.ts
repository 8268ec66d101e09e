import type { InputFormat, Row } from '../model';
import { readHeader } from './planner';
import { readRange } from './read-range';

/** Records read to infer column types and the average record size. */
const SAMPLE_ROWS = 500;

export type InferredType =
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'string'
  | 'empty';

export interface FileDescription {
  /** The header's names (CSV with a header) or the names found in the sample. */
  columns: { name: string; type: InferredType }[];
  /**
   * Records, estimated from the average size of the first ones; exact when
   * they are the whole file. A file whose records grow or shrink along its
   * length is estimated accordingly off.
   */
  rowEstimate: number;
  /** Whether the estimate is a count (the sample reached the end of the file). */
  exact: boolean;
}

/**
 * A look at a data file without reading it all: its header, column types
 * inferred from the first records (the narrowest type every non-empty value
 * fits), and the number of records estimated from their average size.
 */
export async function describeFile(
  path: string,
  size: number,
  input: InputFormat,
): Promise<FileDescription> {
  const header = await readHeader(path, input);
  const sample: Row[] = [];
  let bytes = 0;
  let exact = false;
  for await (const batch of readRange(
    path,
    { start: header.dataStart, end: size, firstLine: header.firstDataLine },
    input,
    header.columns,
    {
      batchRows: SAMPLE_ROWS,
    },
  )) {
    sample.push(...batch.rows);
    bytes += batch.bytes;
    if (sample.length >= SAMPLE_ROWS) break;
  }
  if (header.dataStart + bytes >= size) exact = true;
  const names = header.columns ?? [...new Set(sample.flatMap((row) => Object.keys(row)))];
  const rowEstimate =
    exact || sample.length === 0
      ? sample.length
      : Math.round(((size - header.dataStart) * sample.length) / bytes);
  return {
    columns: names.map((name) => ({ name, type: inferType(sample.map((row) => row[name])) })),
    rowEstimate,
    exact,
  };
}

const INTEGER = /^[-+]?\d{1,15}$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOLEAN = /^(true|false)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The narrowest type every non-empty value fits; JSON values keep their own type. */
export function inferType(values: unknown[]): InferredType {
  const present = values.filter((v) => v !== undefined && v !== null && v !== '');
  if (present.length === 0) return 'empty';
  const fits = (test: (v: unknown) => boolean) => present.every(test);
  if (
    fits(
      (v) =>
        (typeof v === 'number' && Number.isInteger(v)) ||
        (typeof v === 'string' && INTEGER.test(v)),
    )
  )
    return 'integer';
  if (fits((v) => typeof v === 'number' || (typeof v === 'string' && NUMBER.test(v))))
    return 'number';
  if (fits((v) => typeof v === 'boolean' || (typeof v === 'string' && BOOLEAN.test(v))))
    return 'boolean';
  if (fits((v) => typeof v === 'string' && DATE.test(v) && isCalendarDate(v))) return 'date';
  if (fits((v) => typeof v === 'string' && DATETIME.test(v) && isCalendarDate(v)))
    return 'datetime';
  return 'string';
}

/** `YYYY-MM-DD` naming a real day (2024-02-30 does not). */
function isCalendarDate(value: string): boolean {
  const date = new Date(`${value.slice(0, 10)}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value.slice(0, 10));
}
