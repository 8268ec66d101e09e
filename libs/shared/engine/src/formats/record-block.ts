/**
 * What the readers hand to a format: a block of whole records (the scanner
 * found their ends), and what a format hands back for each record.
 */
import { type Row } from '../model';
import { CR, NEWLINE } from './record-scanner';

/** A record that could not be turned into a row. */
export class BadRecord {
  constructor(
    readonly reason: string,
    readonly row?: Row,
  ) {}
}

/** Per record: its row, why it was refused, or null for a blank line. */
export type Outcome = Row | BadRecord | null;

export interface BlockParser {
  /**
   * `ends[i]` is the exclusive end of record i in `block`; records are
   * contiguous from offset 0 and each ends with its record-ending `\n`,
   * except the last when `lastOpen` (end of input without one).
   */
  parse(block: Buffer, ends: readonly number[], lastOpen?: boolean): Outcome[];
}

/** Length of a record's line terminator (`\n`, `\r\n` or none at end of input). */
export function terminatorLength(block: Buffer, start: number, end: number): number {
  if (end === start || block[end - 1] !== NEWLINE) return 0;
  return end - 2 >= start && block[end - 2] === CR ? 2 : 1;
}
