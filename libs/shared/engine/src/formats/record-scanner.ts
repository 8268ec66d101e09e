/**
 * Finds record boundaries in a byte stream without parsing fields, so the
 * planner and the readers agree on where every record ends.
 *
 * The CSV rules mirror papaparse's parser exactly, including on malformed
 * input: a quote opens a quoted field only at the start of a field; inside
 * one, a quote followed by a quote is an escaped quote, and a quote closes the
 * field only when followed by (whitespace and) a delimiter or a newline —
 * otherwise papaparse reports `InvalidQuotes` and stays inside the field. Any
 * disagreement would let a split land inside a record, so the readers also
 * check every block against papaparse (see csv-records.ts).
 */
import { type CsvOptions, type InputFormat } from '../model';

export const NEWLINE = 0x0a;
export const CR = 0x0d;

/** Length of a UTF-8 byte order mark at the start of `buf` (0 or 3). */
export function bomLength(buf: Buffer): number {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
}

/** Finds the newlines that end records in successive chunks of one stream. */
export interface RecordScanner {
  /** `\n` bytes seen so far, inside quoted fields or not. */
  lines: number;
  /** Indexes in the last scanned chunk of the newlines that end records (at or after `recordFrom`). */
  readonly ends: number[];
  /** `lines` just after each of `ends` (parallel array). */
  readonly endLines: number[];
  /** Scans the next chunk of the stream; records boundaries at index >= recordFrom. */
  scan(chunk: Buffer, recordFrom?: number): void;
}

/** Throws unless the dialect is one the byte scanner and papaparse both handle. */
export function checkCsvOptions(csv: CsvOptions): void {
  const { delimiter, quote } = csv;
  const single = (c: string): boolean =>
    c.length === 1 && c.charCodeAt(0) < 0x80 && c !== '\n' && c !== '\r';
  if (!single(delimiter)) {
    throw new Error(
      `CSV delimiter must be one ASCII character other than CR/LF, got ${JSON.stringify(delimiter)}`,
    );
  }
  if (!single(quote)) {
    throw new Error(
      `CSV quote must be one ASCII character other than CR/LF, got ${JSON.stringify(quote)}`,
    );
  }
  // papaparse silently replaces a '"' delimiter with ','.
  if (delimiter === quote || delimiter === '"') {
    throw new Error(
      `CSV delimiter ${JSON.stringify(delimiter)} cannot be the quote character or '"'`,
    );
  }
}

export function createScanner(input: InputFormat): RecordScanner {
  if (input.format === 'jsonl') return new JsonlScanner();
  checkCsvOptions(input.csv);
  return new CsvScanner(input.csv.delimiter.charCodeAt(0), input.csv.quote.charCodeAt(0));
}

/** JSONL: every `\n` ends a record. */
export class JsonlScanner implements RecordScanner {
  lines = 0;
  readonly ends: number[] = [];
  readonly endLines: number[] = [];

  scan(chunk: Buffer, recordFrom = 0): void {
    this.ends.length = 0;
    this.endLines.length = 0;
    let nl = chunk.indexOf(NEWLINE);
    while (nl !== -1) {
      this.lines++;
      if (nl >= recordFrom) {
        this.ends.push(nl);
        this.endLines.push(this.lines);
      }
      nl = chunk.indexOf(NEWLINE, nl + 1);
    }
  }
}

const enum State {
  /** Outside any quoted field. */
  Out,
  /** Inside a quoted field. */
  In,
  /** Inside, just after a quote: escaped quote, closing quote or stray quote. */
  AfterQuote,
  /** Inside, after a quote and whitespace: closes only if a delimiter or newline follows. */
  Spaces,
}

export class CsvScanner implements RecordScanner {
  lines = 0;
  readonly ends: number[] = [];
  readonly endLines: number[] = [];
  private state = State.Out;
  /** Last byte of the previous chunk; a newline means "at the start of a record". */
  private prev = NEWLINE;
  /** Start of a multi-byte whitespace character cut by the chunk end (rare). */
  private carry: Buffer | null = null;

  constructor(
    private readonly delim: number,
    private readonly quote: number,
  ) {}

  scan(chunk: Buffer, recordFrom = 0): void {
    this.ends.length = 0;
    this.endLines.length = 0;
    const len = chunk.length;
    if (len === 0) return;
    const { quote, delim } = this;
    let p = 0;
    if (this.carry) p = this.resolveCarry(chunk);
    if (this.state === State.AfterQuote || this.state === State.Spaces) {
      p = this.resolve(chunk, p);
    }
    let nl = nextIndex(chunk, NEWLINE, p);
    let qt = nextIndex(chunk, quote, p);
    while (p < len) {
      if (this.state === State.Out) {
        if (nl < qt) {
          this.lines++;
          if (nl >= recordFrom) {
            this.ends.push(nl);
            this.endLines.push(this.lines);
          }
          p = nl + 1;
          nl = nextIndex(chunk, NEWLINE, p);
          continue;
        }
        if (qt === len) break;
        // A quote opens a field only right after a delimiter or a record start.
        const before = qt > 0 ? chunk[qt - 1] : this.prev;
        if (before === delim || before === NEWLINE) this.state = State.In;
        p = qt + 1;
        qt = nextIndex(chunk, quote, p);
        continue;
      }
      // Inside a quoted field: newlines up to the next quote are data.
      while (nl < qt) {
        this.lines++;
        nl = nextIndex(chunk, NEWLINE, nl + 1);
      }
      if (qt === len) break;
      this.state = State.AfterQuote;
      p = this.resolve(chunk, qt + 1);
      // resolve() never moves past a newline, so `nl` is still the next one.
      qt = nextIndex(chunk, quote, p);
    }
    this.prev = chunk[len - 1] ?? NEWLINE;
  }

  /** Decides what follows a quote inside a quoted field; returns where scanning resumes. */
  private resolve(chunk: Buffer, from: number): number {
    const len = chunk.length;
    let p = from;
    while (p < len) {
      const c = chunk[p];
      if (c === this.quote) {
        // Doubled quote: data. After whitespace: a new candidate, so rescan it.
        if (this.state === State.AfterQuote) {
          this.state = State.In;
          return p + 1;
        }
        this.state = State.In;
        return p;
      }
      if (c === this.delim) {
        this.state = State.Out;
        return p + 1;
      }
      if (c === NEWLINE) {
        this.state = State.Out;
        return p; // the Out loop counts it as a boundary
      }
      const w = whitespaceLength(chunk, p);
      if (w > 0) {
        this.state = State.Spaces;
        p += w;
        continue;
      }
      if (w < 0) {
        this.state = State.Spaces;
        this.carry = Buffer.from(chunk.subarray(p));
        return len;
      }
      this.state = State.In; // stray quote: papaparse keeps the field open
      return p;
    }
    return len;
  }

  /** Finishes a whitespace character split across chunks; returns the resume index. */
  private resolveCarry(chunk: Buffer): number {
    const carry = this.carry as Buffer;
    this.carry = null;
    const joined = Buffer.concat([carry, chunk.subarray(0, 3)]);
    const w = whitespaceLength(joined, 0);
    if (w < 0) {
      // Still incomplete (tiny chunk): only continuation bytes so far, no boundary possible.
      this.carry = joined;
      return chunk.length;
    }
    if (w === 0) {
      this.state = State.In;
      return 0;
    }
    return w - carry.length;
  }
}

function nextIndex(chunk: Buffer, byte: number, from: number): number {
  const i = chunk.indexOf(byte, from);
  return i === -1 ? chunk.length : i;
}

/**
 * Bytes of the whitespace character at `i` as String.prototype.trim sees it
 * (papaparse uses trim), 0 if none, -1 if the chunk ends inside a character
 * that might be whitespace.
 */
export function whitespaceLength(b: Buffer, i: number): number {
  const c = b[i] ?? 0;
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return 1;
  if (c < 0xc2) return 0;
  const c1 = b[i + 1];
  if (c === 0xc2) return c1 === undefined ? -1 : c1 === 0xa0 ? 2 : 0;
  // Three-byte spaces: U+1680, U+2000-200A, U+2028/9, U+202F, U+205F, U+3000, U+FEFF.
  const lead =
    c === 0xe1
      ? 0x9a
      : c === 0xe2
        ? c1 === 0x81
          ? 0x81
          : 0x80
        : c === 0xe3
          ? 0x80
          : c === 0xef
            ? 0xbb
            : -1;
  if (lead === -1) return 0;
  if (c1 === undefined) return -1;
  if (c1 !== lead) return 0;
  const c2 = b[i + 2];
  if (c2 === undefined) return -1;
  let ok: boolean;
  if (c === 0xe1) ok = c2 === 0x80;
  else if (c === 0xe2 && c1 === 0x80)
    ok = (c2 >= 0x80 && c2 <= 0x8a) || c2 === 0xa8 || c2 === 0xa9 || c2 === 0xaf;
  else if (c === 0xe2) ok = c2 === 0x9f;
  else if (c === 0xe3) ok = c2 === 0x80;
  else ok = c2 === 0xbf;
  return ok ? 3 : 0;
}
