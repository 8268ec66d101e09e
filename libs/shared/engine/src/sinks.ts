import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatCsvHeader, formatCsvRows, formatJsonlRows } from './formats/writers';
import { readRange } from './formats/read-range';
import { RESERVED_DIR } from './data-root';
import { DEFAULT_CSV_OPTIONS, type Format, type Rejection, type Row } from './model';

/**
 * Where a task's output rows go. Writes may happen more than once for the
 * same task (a retry after a crash); a sink makes that harmless, and
 * `commit` makes the task's whole output visible at once.
 */
export interface RowSink {
  /** `lines[i]` is the input line `rows[i]` came from: the row's stable identity. */
  write(rows: Row[], lines: number[]): Promise<void>;
  commit(): Promise<void>;
  /** Drops uncommitted output (best effort). */
  abort(): Promise<void>;
}

export interface RejectSink {
  write(rejections: Rejection[]): Promise<void>;
}

/** Rows go to a document store through an idempotent insert (deterministic ids). */
export class DocumentSink implements RowSink {
  constructor(private readonly insert: (rows: Row[], lines: number[]) => Promise<void>) {}

  write(rows: Row[], lines: number[]): Promise<void> {
    return this.insert(rows, lines);
  }

  // Inserted rows are durable and, keyed by input line, identical on a retry.
  commit(): Promise<void> {
    return Promise.resolve();
  }

  abort(): Promise<void> {
    return Promise.resolve();
  }
}

/** A row whose fields do not fit the CSV part's columns; the engine rejects it. */
export class RowShapeError extends Error {}

/**
 * One task's share of a file output: written to `<part>.tmp`, then renamed to
 * `<part>` on commit, which is atomic. Each attempt writes its own part, so a
 * stale attempt can never touch the part that was committed.
 */
export class FilePartSink implements RowSink {
  private handle?: FileHandle;
  private columns?: string[];
  private columnSet?: Set<string>;

  /**
   * `preferredColumns` (the input's columns) fix the CSV column order: object
   * keys that look like integers (`2024`) would otherwise come first.
   */
  constructor(
    private readonly partPath: string,
    private readonly format: Format,
    private readonly preferredColumns: readonly string[] | null = null,
  ) {}

  async write(rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const handle = await this.open();
    let text: string;
    if (this.format === 'jsonl') {
      text = formatJsonlRows(rows);
    } else {
      let header = '';
      if (!this.columns) {
        this.columns = this.columnsOf(rows[0] as Row);
        this.columnSet = new Set(this.columns);
        header = formatCsvHeader(this.columns);
      }
      for (const row of rows) this.checkShape(row, this.columnSet as Set<string>);
      text = header + formatCsvRows(rows, this.columns);
    }
    await handle.write(text);
  }

  /** Which rows of a batch would not fit the part's CSV columns, with the reason. */
  misfits(rows: Row[]): Map<number, string> {
    const misfits = new Map<number, string>();
    if (this.format !== 'csv') return misfits;
    const columns = this.columns ?? (rows[0] ? this.columnsOf(rows[0]) : []);
    const set = this.columnSet ?? new Set(columns);
    rows.forEach((row, i) => {
      for (const key in row) {
        if (!set.has(key)) {
          misfits.set(
            i,
            `field '${key}' is not among the CSV output's columns (${columns.join(', ')})`,
          );
          return;
        }
      }
    });
    return misfits;
  }

  async commit(): Promise<void> {
    const handle = await this.open();
    await handle.sync();
    await handle.close();
    this.handle = undefined;
    await rename(`${this.partPath}.tmp`, this.partPath);
  }

  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(`${this.partPath}.tmp`, { force: true });
  }

  private columnsOf(row: Row): string[] {
    const keys = Object.keys(row);
    if (!this.preferredColumns) return keys;
    const present = new Set(keys);
    const known = this.preferredColumns.filter((name) => present.has(name));
    const knownSet = new Set(known);
    return [...known, ...keys.filter((key) => !knownSet.has(key))];
  }

  private checkShape(row: Row, columns: Set<string>): void {
    for (const key in row) {
      if (!columns.has(key)) throw new RowShapeError(`unexpected field '${key}'`);
    }
  }

  private async open(): Promise<FileHandle> {
    if (!this.handle) {
      await mkdir(dirname(this.partPath), { recursive: true });
      this.handle = await open(`${this.partPath}.tmp`, 'w');
    }
    return this.handle;
  }
}

/**
 * Builds the output file from committed parts, in input order, and moves it
 * into place atomically. CSV parts each start with their header; parts whose
 * columns differ from the union are re-mapped, so no field is dropped.
 * Running it twice gives the same file.
 */
export async function assembleParts(options: {
  parts: string[];
  target: string;
  format: Format;
  tmpPath: string;
  /** Checked before the file is moved into place: a cancelled job must not replace the target. */
  signal?: AbortSignal;
}): Promise<{ bytesWritten: number }> {
  const { parts, target, format, tmpPath, signal } = options;
  await mkdir(dirname(tmpPath), { recursive: true });
  const out = await open(tmpPath, 'w');
  let bytesWritten = 0;
  try {
    // One part open at a time: a large job has thousands of parts.
    const headers: (string[] | null)[] = [];
    if (format === 'csv') for (const part of parts) headers.push(await readPartHeader(part));
    const union = unionOf(headers.filter((h): h is string[] => h !== null));
    if (format === 'csv' && union.length > 0) {
      bytesWritten += (await out.write(formatCsvHeader(union))).bytesWritten;
    }
    for (const [i, part] of parts.entries()) {
      const header = headers[i] ?? null;
      if (format === 'csv' && header && !sameColumns(header, union)) {
        bytesWritten += await remapCsvPart(part, header, union, out);
      } else {
        const skip = header ? Buffer.byteLength(formatCsvHeader(header)) : 0;
        bytesWritten += await copyFrom(part, skip, out);
      }
    }
    await out.sync();
  } finally {
    await out.close();
  }
  signal?.throwIfAborted();
  await mkdir(dirname(target), { recursive: true });
  await rename(tmpPath, target);
  return { bytesWritten };
}

export function partFileName(seq: number, attempt: number): string {
  return `${String(seq).padStart(6, '0')}.a${attempt}.part`;
}

/** Staging area of a job's file output, inside the data root so renames stay on one filesystem. */
export function stagingDir(dataRoot: string, jobId: string): string {
  return join(dataRoot, RESERVED_DIR, 'jobs', jobId);
}

async function readPartHeader(part: string): Promise<string[] | null> {
  for await (const batch of readWholeCsv(part, 1)) {
    const first = batch.rows[0];
    return first ? Object.values(first).map(String) : null;
  }
  return null;
}

async function remapCsvPart(
  part: string,
  header: string[],
  union: string[],
  out: FileHandle,
): Promise<number> {
  let written = 0;
  let headerPending = true;
  for await (const batch of readWholeCsv(part, 2000)) {
    const records = headerPending ? batch.rows.slice(1) : batch.rows;
    headerPending = false;
    // Positional (col1..colN) records mapped onto the part's own header names.
    const rows = records.map((record) => {
      const values = Object.values(record);
      return Object.fromEntries(header.map((name, i) => [name, values[i]]));
    });
    written += (await out.write(formatCsvRows(rows, union))).bytesWritten;
  }
  return written;
}

function readWholeCsv(path: string, batchRows: number) {
  return readRange(
    path,
    { start: 0, end: Number.MAX_SAFE_INTEGER, firstLine: 1 },
    { format: 'csv', csv: { ...DEFAULT_CSV_OPTIONS, header: false } },
    null,
    { batchRows },
  );
}

async function copyFrom(path: string, start: number, out: FileHandle): Promise<number> {
  let written = 0;
  const stream = createReadStream(path, { start, highWaterMark: 1 << 20 });
  for await (const chunk of stream) {
    written += (await out.write(chunk as Buffer)).bytesWritten;
  }
  return written;
}

function unionOf(headers: string[][]): string[] {
  const seen = new Set<string>();
  const union: string[] = [];
  for (const header of headers) {
    for (const name of header) {
      if (!seen.has(name)) {
        seen.add(name);
        union.push(name);
      }
    }
  }
  return union;
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
