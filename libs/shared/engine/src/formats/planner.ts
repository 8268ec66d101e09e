/**
 * Splits an input file into byte ranges ("tasks") that start and end on
 * record boundaries, in one streaming pass, yielding each range as soon as
 * its end is known so the first task can start while planning goes on.
 */
import { type ByteRange, type InputFormat } from '../model';
import { parseCsvText } from './csv-records';
import { terminatorLength } from './record-block';
import { bomLength, checkCsvOptions, createScanner } from './record-scanner';
import { byteSourceOf, type ByteSource } from './byte-source';

/** The header must fit in this many bytes; more means a runaway quote, not a header. */
const MAX_HEADER_BYTES = 1024 * 1024;
const FIRST_READ = 64 * 1024;
const PLAN_CHUNK = 256 * 1024;

export interface FileHeader {
  /** Column names from the header record; null for JSONL and header-less CSV. */
  columns: string[] | null;
  /** Byte offset of the first data record (after a BOM and the header). */
  dataStart: number;
  /** 1-based line number of the first data record. */
  firstDataLine: number;
}

/** Reads the start of the file: skips a UTF-8 BOM and, for CSV with a header, parses it. */
export async function readHeader(
  from: string | ByteSource,
  input: InputFormat,
): Promise<FileHeader> {
  const source = byteSourceOf(from);
  const path = source.name;
  const wantsHeader = input.format === 'csv' && input.csv.header;
  if (input.format === 'csv') checkCsvOptions(input.csv);
  // Most headers fit in a first small read; only a long one costs a second read.
  let { buf, whole } = await readStart(source, wantsHeader ? FIRST_READ : 3);
  const dataStart = bomLength(buf);
  if (!wantsHeader) return { columns: null, dataStart, firstDataLine: 1 };
  let scanner = createScanner(input);
  scanner.scan(buf.subarray(dataStart));
  if (scanner.ends.length === 0 && !whole) {
    ({ buf, whole } = await readStart(source, dataStart + MAX_HEADER_BYTES));
    scanner = createScanner(input);
    scanner.scan(buf.subarray(dataStart));
  }
  const body = buf.subarray(dataStart);
  const cut = scanner.ends[0];
  let end: number;
  if (cut !== undefined) end = cut + 1;
  else if (whole) end = body.length;
  else throw new Error(`${path}: header record is longer than ${MAX_HEADER_BYTES} bytes`);
  if (end === 0) throw new Error(`${path} is empty: expected a CSV header`);

  const terminator = cut === undefined ? 0 : terminatorLength(body, 0, end);
  const { data, errors } = parseCsvText(
    body.toString('utf8', 0, end),
    input.csv,
    terminator === 2 ? '\r\n' : '\n',
  );
  if (terminator > 0) data.pop(); // papaparse's empty row after a final newline
  const error = errors[0];
  if (error) throw new Error(`${path}: invalid CSV header: ${error.message}`);
  const columns = data[0] ?? [''];
  checkColumns(path, columns);
  return {
    columns,
    dataStart: dataStart + end,
    firstDataLine: 1 + (cut === undefined ? 0 : (scanner.endLines[0] as number)),
  };
}

/** The first `bytes` bytes of the input (fewer if it is shorter), and whether that is all of it. */
async function readStart(
  source: ByteSource,
  bytes: number,
): Promise<{ buf: Buffer; whole: boolean }> {
  // One more byte than asked, to tell "exactly `bytes`" from "longer".
  const chunks: Buffer[] = [];
  let read = 0;
  for await (const chunk of source.read(0, bytes + 1)) {
    chunks.push(chunk);
    read += chunk.length;
    if (read > bytes) break;
  }
  const all = Buffer.concat(chunks);
  return { buf: all.subarray(0, Math.min(all.length, bytes)), whole: all.length <= bytes };
}

function checkColumns(path: string, columns: string[]): void {
  const seen = new Map<string, number>();
  columns.forEach((name, i) => {
    if (name === '') {
      throw new Error(`${path}: CSV header has an empty column name (column ${i + 1})`);
    }
    // `row['__proto__'] = value` would not create a field: the value would be lost.
    if (name === '__proto__') {
      throw new Error(
        `${path}: CSV header has a reserved column name "__proto__" (column ${i + 1})`,
      );
    }
    const before = seen.get(name);
    if (before !== undefined) {
      throw new Error(
        `${path}: CSV header has duplicate column name ${JSON.stringify(name)} (columns ${before} and ${i + 1})`,
      );
    }
    seen.set(name, i + 1);
  });
}

export interface PlanOptions {
  /** Aim for ranges of about this many bytes; each ends at the first record end at or past it. */
  targetBytes: number;
  dataStart: number;
  firstDataLine: number;
  signal?: AbortSignal;
}

/**
 * Yields ranges covering `[dataStart, fileSize)` exactly, in order. A CSV
 * newline inside a quoted field is never a split point.
 */
export async function* planRanges(
  from: string | ByteSource,
  input: InputFormat,
  options: PlanOptions,
): AsyncGenerator<ByteRange> {
  const { targetBytes, dataStart, firstDataLine, signal } = options;
  if (!Number.isInteger(targetBytes) || targetBytes < 1) {
    throw new Error(`targetBytes must be a positive integer, got ${targetBytes}`);
  }
  signal?.throwIfAborted();
  const scanner = createScanner(input);
  const stream = byteSourceOf(from, PLAN_CHUNK).read(dataStart, Infinity, signal);
  let offset = dataStart; // file offset of the next chunk
  let start = dataStart; // start of the range being planned
  let firstLine = firstDataLine;
  try {
    for await (const data of stream) {
      const chunk = data as Buffer;
      const chunkStart = offset;
      offset += chunk.length;
      // Only newlines that can end the current range need recording; a range
      // ending at newline index i ends at byte chunkStart + i + 1.
      scanner.scan(chunk, start + targetBytes - 1 - chunkStart);
      const { ends, endLines } = scanner;
      for (let i = 0; i < ends.length; i++) {
        const end = chunkStart + (ends[i] as number) + 1;
        if (end - start < targetBytes) continue;
        yield { start, end, firstLine };
        signal?.throwIfAborted();
        start = end;
        firstLine = firstDataLine + (endLines[i] as number);
      }
    }
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  }
  // The rest, including a last record without a newline.
  if (offset > start) yield { start, end: offset, firstLine };
}
