/**
 * Reads one task's byte range as batches of rows. The scanner cuts the stream
 * into blocks of whole records, the format parses a block, and the batcher
 * groups records into batches; the stream is only pulled while the consumer
 * pulls batches, so memory stays at about one chunk plus the longest record.
 */
import {
  type ByteRange,
  type InputFormat,
  type RecordBatch,
  type Rejection,
  type Row,
} from '../model';
import { CsvRecords } from './csv-records';
import { JsonlRecords } from './jsonl-records';
import { BadRecord, type BlockParser, type Outcome } from './record-block';
import { bomLength, createScanner } from './record-scanner';
import { byteSourceOf, type ByteSource } from './byte-source';

export interface ReadRangeOptions {
  /** Rows (plus rejections) per batch; default 2000. */
  batchRows?: number;
  signal?: AbortSignal;
  /** A longer record is rejected and skipped rather than buffered; default 64 MiB. */
  maxRecordBytes?: number;
}

const READ_CHUNK = 128 * 1024;
const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Streams `[range.start, range.end)` of the file (or object) and yields its records in
 * order; an `end` past the file's size reads to the end of the file.
 * `columns` names the CSV fields (null for a header-less CSV: `col1..colN`
 * from the width of the range's first record; ignored for JSONL).
 */
export async function* readRange(
  from: string | ByteSource,
  range: ByteRange,
  input: InputFormat,
  columns: string[] | null,
  options: ReadRangeOptions = {},
): AsyncGenerator<RecordBatch> {
  const batchRows = options.batchRows ?? 2000;
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
  }
  const { signal } = options;
  signal?.throwIfAborted();
  if (range.end <= range.start) return;

  const scanner = createScanner(input);
  const parser: BlockParser =
    input.format === 'csv' ? new CsvRecords(input.csv, columns) : new JsonlRecords();
  const batcher = new Batcher(range.start, batchRows);
  const tooLong = new BadRecord(`record longer than ${maxRecordBytes} bytes (unterminated quote?)`);
  const stream = byteSourceOf(from, READ_CHUNK).read(range.start, range.end, signal);

  let offset = range.start; // file offset of the next chunk
  let pending: Buffer[] = []; // the unfinished record, split across chunks
  let pendingBytes = 0;
  let line = range.firstLine; // line where the unfinished record starts
  let skipping = false; // inside a record longer than maxRecordBytes

  const parseBlock = (
    block: Buffer,
    ends: number[],
    lines: number[],
    blockStart: number,
    lastOpen = false,
  ) => {
    const outcomes = parser.parse(block, ends, lastOpen);
    let start = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const end = ends[i] as number;
      // Checked per record, not per chunk, so the verdict never depends on chunking.
      const outcome = end - start > maxRecordBytes ? tooLong : (outcomes[i] ?? null);
      batcher.add(outcome, lines[i] as number, blockStart + end);
      start = end;
    }
  };

  try {
    for await (const data of stream) {
      let chunk = data as Buffer;
      const chunkStart = offset;
      offset += chunk.length;
      let from = 0; // first byte of `chunk` that belongs to the next block
      if (chunkStart === 0) from = bomLength(chunk);
      // The scanner sees the chunk without the BOM, hence offsets relative to `from`.
      if (from > 0) chunk = chunk.subarray(from);
      scanner.scan(chunk);
      const { ends: cuts, endLines } = scanner;
      const base = chunkStart + from;
      let first = 0;
      if (skipping && cuts.length > 0) {
        // The oversized record ends here: reject it, then read normally.
        const end = (cuts[0] as number) + 1;
        batcher.add(tooLong, line, base + end);
        line = range.firstLine + (endLines[0] as number);
        skipping = false;
        first = 1;
        from = end;
      } else {
        from = 0;
      }
      if (cuts.length === first) {
        if (!skipping) {
          pending.push(from > 0 ? chunk.subarray(from) : chunk);
          pendingBytes += chunk.length - from;
          if (pendingBytes > maxRecordBytes) {
            skipping = true;
            pending = [];
            pendingBytes = 0;
          }
        }
      } else {
        const last = (cuts[cuts.length - 1] as number) + 1;
        const tail = chunk.subarray(from, last);
        const block = pendingBytes > 0 ? Buffer.concat([...pending, tail]) : tail;
        const shift = pendingBytes - from; // chunk index -> block index
        const ends: number[] = [];
        const lines: number[] = [line];
        for (let i = first; i < cuts.length; i++) {
          ends.push((cuts[i] as number) + 1 + shift);
          lines.push(range.firstLine + (endLines[i] as number));
        }
        line = lines.pop() as number;
        parseBlock(block, ends, lines, base - shift);
        pending = last < chunk.length ? [chunk.subarray(last)] : [];
        pendingBytes = chunk.length - last;
      }
      for (const batch of batcher.take()) {
        yield batch;
        signal?.throwIfAborted();
      }
    }
  } catch (err) {
    signal?.throwIfAborted(); // the abort reason rather than the stream's AbortError
    throw err;
  }

  // `offset` is range.end, or the file size when the range ends past it.
  if (skipping) {
    batcher.add(tooLong, line, offset);
  } else if (pendingBytes > 0) {
    // The last record has no newline (only at the end of the file).
    const block = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    parseBlock(block, [pendingBytes], [line], offset - pendingBytes, true);
  }
  batcher.finish(offset);
  for (const batch of batcher.take()) {
    yield batch;
    signal?.throwIfAborted();
  }
}

/** Groups outcomes into batches; each batch's `bytes` spans its records' input. */
class Batcher {
  private rows: Row[] = [];
  private lines: number[] = [];
  private malformed: Rejection[] = [];
  private ready: RecordBatch[] = [];

  constructor(
    /** File offset where the current batch's input starts. */
    private start: number,
    private readonly batchRows: number,
  ) {}

  add(outcome: Outcome, line: number, end: number): void {
    if (outcome === null) return; // blank line: its bytes go to the batch that follows
    if (outcome instanceof BadRecord) {
      const rejection: Rejection = { line, reason: outcome.reason };
      if (outcome.row) rejection.row = outcome.row;
      this.malformed.push(rejection);
    } else {
      this.rows.push(outcome);
      this.lines.push(line);
    }
    if (this.rows.length + this.malformed.length >= this.batchRows) this.cut(end);
  }

  /** Closes the last batch; it may hold no records when the input ended with blank lines. */
  finish(end: number): void {
    if (end > this.start || this.rows.length > 0 || this.malformed.length > 0) this.cut(end);
  }

  take(): RecordBatch[] {
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  private cut(end: number): void {
    this.ready.push({
      rows: this.rows,
      lines: this.lines,
      malformed: this.malformed,
      bytes: end - this.start,
    });
    this.start = end;
    this.rows = [];
    this.lines = [];
    this.malformed = [];
  }
}
