import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { calculateObjectSize, deserialize, serialize } from 'bson';
import type { Doc } from './values';

/**
 * The journal: the only file the embedded store keeps. Every acknowledged
 * write is one append of whole records before its reply leaves; opening
 * replays it.
 *
 * Layout: an 8-byte magic, then records. A record is a 16-byte header —
 * payload length, flags, CRC32 of the payload, CRC32 of the first 12 header
 * bytes (all uint32 little-endian) — and a BSON payload. The records of one
 * command end with one carrying the COMMIT flag; replay applies a command's
 * records only once it reads that flag, so a command is durable whole or not
 * at all.
 *
 * Durability: records reach the operating system (writeSync) before the reply,
 * so a crash of the process loses nothing acknowledged; the disk itself is
 * synced (fdatasync) at most every 100 ms and on close, so a power loss can
 * lose the writes of the last 100 ms.
 */

export const JOURNAL_FILE = 'journal.cfdb';
const MAGIC = Buffer.from('CFJRNL01', 'latin1');
const HEADER_BYTES = 16;
const FLAG_COMMIT = 1;
const SYNC_INTERVAL_MS = 100;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * Every file the store writes is the owner's only: the journal holds results,
 * API key hashes and sealed secrets, which other users of a shared machine
 * must not read.
 */
export const FILE_MODE = 0o600;

/** What the store records; the replay applies them in order. */
export type JournalRecord =
  | { op: 'put'; db: string; coll: string; doc: Doc }
  | { op: 'delete'; db: string; coll: string; id: unknown }
  | { op: 'createCollection'; db: string; coll: string; options: Doc }
  | { op: 'dropCollection'; db: string; coll: string }
  | { op: 'createIndex'; db: string; coll: string; spec: Doc }
  | { op: 'dropIndex'; db: string; coll: string; name: string }
  | { op: 'dropDatabase'; db: string };

/** The BSON options of everything the store reads: the driver's defaults. */
export const BSON_READ_OPTIONS = {
  promoteLongs: true,
  promoteValues: true,
  promoteBuffers: false,
  bsonRegExp: false,
} as const;

export const BSON_WRITE_OPTIONS = { checkKeys: false, ignoreUndefined: true } as const;

function encodeRecord(record: JournalRecord, commit: boolean): Buffer[] {
  const payload = serialize(record, BSON_WRITE_OPTIONS);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(commit ? FLAG_COMMIT : 0, 4);
  header.writeUInt32LE(crc32(payload), 8);
  header.writeUInt32LE(crc32(header.subarray(0, 12)), 12);
  return [header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)];
}

/** One command's records as the bytes of one append; the last one commits. */
export function encodeBatch(records: readonly JournalRecord[]): Buffer {
  const parts: Buffer[] = [];
  records.forEach((record, i) => parts.push(...encodeRecord(record, i === records.length - 1)));
  return Buffer.concat(parts);
}

function writeFully(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) {
    written += fs.writeSync(fd, bytes, written, bytes.length - written);
  }
}

function readFully(fd: number, buffer: Buffer, position: number): number {
  let read = 0;
  while (read < buffer.length) {
    const n = fs.readSync(fd, buffer, read, buffer.length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return read;
}

/** Reads a file forward through one reusable window instead of one read per record. */
class WindowReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** `length` bytes at `offset`, which the caller has checked lie inside the file. */
  bytes(offset: number, length: number): Buffer {
    const end = offset + length;
    if (offset < this.windowStart || end > this.windowStart + this.window.length) {
      const wanted = Math.min(Math.max(length, READ_CHUNK_BYTES), this.size - offset);
      const buffer = Buffer.alloc(wanted);
      const read = readFully(this.fd, buffer, offset);
      this.window = buffer.subarray(0, read);
      this.windowStart = offset;
    }
    return this.window.subarray(offset - this.windowStart, end - this.windowStart);
  }
}

export interface ReplayResult {
  /** Records applied. */
  records: number;
  /** Bytes of the file once a torn tail is cut off. */
  bytes: number;
  /** Bytes cut off the end: the unacknowledged remains of a crash mid-append. */
  truncatedBytes: number;
}

function corrupt(file: string, offset: number, why: string): Error {
  return new Error(
    `embedded store journal ${file} is corrupt at offset ${offset}: ${why}. ` +
      'Refusing to open it rather than drop the data after that point; restore the directory ' +
      'from a backup or move the file away to start empty.',
  );
}

function allZero(reader: WindowReader, from: number): boolean {
  for (let offset = from; offset < reader.size; offset += READ_CHUNK_BYTES) {
    const chunk = reader.bytes(offset, Math.min(READ_CHUNK_BYTES, reader.size - offset));
    if (chunk.some((byte) => byte !== 0)) return false;
  }
  return true;
}

/**
 * Whether an intact record (both checksums right) starts anywhere at or after
 * `from`. After damage, none means the damage is the end of an append the
 * process or the power interrupted: half-written bytes, or the zeros a power
 * loss leaves in blocks allocated but never written. Any means data that was
 * once acknowledged lies beyond the damage, which must not be dropped silently.
 */
function hasRecordAfter(reader: WindowReader, from: number): boolean {
  if (allZero(reader, from)) return false;
  for (let offset = from; offset + HEADER_BYTES <= reader.size; offset++) {
    const header = reader.bytes(offset, HEADER_BYTES);
    if (crc32(header.subarray(0, 12)) !== header.readUInt32LE(12)) continue;
    const length = header.readUInt32LE(0);
    if (offset + HEADER_BYTES + length > reader.size) continue;
    if (crc32(reader.bytes(offset + HEADER_BYTES, length)) === header.readUInt32LE(8)) return true;
  }
  return false;
}

/**
 * Replays the journal at `file` (creating it when absent), calling `apply`
 * with every committed record in order. A damaged end — what a crash in the
 * middle of an append leaves — is cut off back to the last committed command;
 * damage followed by intact data is an Error naming the file and the offset.
 */
export function replayJournal(file: string, apply: (record: JournalRecord) => void): ReplayResult {
  if (!fs.existsSync(file) || fs.statSync(file).size < MAGIC.length) {
    // Absent, or a crash while it was being created: nothing was ever acknowledged.
    writeNewFile(file, MAGIC);
    return { records: 0, bytes: MAGIC.length, truncatedBytes: 0 };
  }
  const fd = fs.openSync(file, 'r');
  let committedEnd = MAGIC.length;
  let applied = 0;
  let size = 0;
  try {
    size = fs.fstatSync(fd).size;
    const reader = new WindowReader(fd, size);
    if (!reader.bytes(0, MAGIC.length).equals(MAGIC)) {
      throw new Error(`${file} is not an embedded store journal (unknown header)`);
    }
    let offset = MAGIC.length;
    let pending: JournalRecord[] = [];
    while (offset < size) {
      const remaining = size - offset;
      if (remaining < HEADER_BYTES) break; // torn header
      const header = reader.bytes(offset, HEADER_BYTES);
      if (crc32(header.subarray(0, 12)) !== header.readUInt32LE(12)) {
        // Damage with no intact record after it is the end of an interrupted append.
        if (!hasRecordAfter(reader, offset + 1)) break;
        throw corrupt(file, offset, 'record header checksum mismatch');
      }
      const length = header.readUInt32LE(0);
      const flags = header.readUInt32LE(4);
      if (length > remaining - HEADER_BYTES) break; // torn payload (the header is intact)
      const payload = reader.bytes(offset + HEADER_BYTES, length);
      const end = offset + HEADER_BYTES + length;
      if (crc32(payload) !== header.readUInt32LE(8)) {
        if (!hasRecordAfter(reader, offset + 1)) break;
        throw corrupt(file, offset, 'record payload checksum mismatch');
      }
      let record: JournalRecord;
      try {
        record = deserialize(payload, BSON_READ_OPTIONS) as JournalRecord;
      } catch (error) {
        throw corrupt(file, offset, `record is not valid BSON (${(error as Error).message})`);
      }
      pending.push(record);
      offset = end;
      if ((flags & FLAG_COMMIT) !== 0) {
        for (const committed of pending) apply(committed);
        applied += pending.length;
        pending = [];
        committedEnd = offset;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  if (committedEnd < size) {
    const cut = fs.openSync(file, 'r+');
    try {
      fs.ftruncateSync(cut, committedEnd);
      fs.fsyncSync(cut);
    } finally {
      fs.closeSync(cut);
    }
  }
  return { records: applied, bytes: committedEnd, truncatedBytes: size - committedEnd };
}

/**
 * Opens `file` for writing with mode 0600. The mode given to open only applies
 * when the file is created, so an existing file (one an older version wrote
 * 0644) is narrowed too.
 */
export function openPrivate(file: string, flags: string): number {
  const fd = fs.openSync(file, flags, FILE_MODE);
  try {
    fs.fchmodSync(fd, FILE_MODE);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

function writeNewFile(file: string, bytes: Buffer): void {
  const fd = openPrivate(file, 'w');
  try {
    writeFully(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncDirectory(path.dirname(file));
}

/** Makes a rename or a file creation in `dir` durable. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    // Some platforms (Windows) cannot open or sync a directory; the rename itself is still atomic.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Where a snapshot is written before it is renamed over the journal. */
export function snapshotFile(file: string): string {
  return `${file}.compact`;
}

/**
 * Writes `records` (a snapshot of the live state) as a complete journal at
 * `temporary` and syncs it; the size in bytes.
 */
function writeSnapshotFile(temporary: string, records: Iterable<JournalRecord>): number {
  const fd = openPrivate(temporary, 'w');
  let bytes = 0;
  try {
    let chunk: Buffer[] = [MAGIC];
    let chunkBytes = MAGIC.length;
    const flush = (): void => {
      const joined = Buffer.concat(chunk);
      writeFully(fd, joined);
      bytes += joined.length;
      chunk = [];
      chunkBytes = 0;
    };
    for (const record of records) {
      // Each snapshot record commits on its own: replay need not hold the whole snapshot.
      for (const part of encodeRecord(record, true)) {
        chunk.push(part);
        chunkBytes += part.length;
      }
      if (chunkBytes >= SNAPSHOT_CHUNK_BYTES) flush();
    }
    flush();
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}

/**
 * Replaces the journal with `records` (a snapshot of the live state): written
 * to a temporary file, synced, renamed over the journal, the directory synced.
 * A crash at any point leaves either the old journal or the new one.
 */
export function writeSnapshot(file: string, records: Iterable<JournalRecord>): number {
  const temporary = snapshotFile(file);
  const bytes = writeSnapshotFile(temporary, records);
  fs.renameSync(temporary, file);
  syncDirectory(path.dirname(file));
  return bytes;
}

/**
 * Removes the temporary file of a compaction a crash interrupted. It was
 * never renamed, so the journal beside it is the complete one; the temporary
 * file is at most a partial copy and is never read.
 */
export function removeStaleSnapshot(file: string): void {
  fs.rmSync(snapshotFile(file), { force: true });
}

/** Size in the journal of a `put` record of a `docBytes`-byte document. */
export function putRecordBytes(db: string, coll: string, docBytes: number): number {
  // An embedded document adds its own size to the record; an empty one is 5 bytes.
  const withEmptyDoc = calculateObjectSize({ op: 'put', db, coll, doc: {} }, BSON_WRITE_OPTIONS);
  return HEADER_BYTES + withEmptyDoc - 5 + docBytes;
}

/** Size in the journal of one record, to weigh live data against the file. */
export function recordBytes(record: JournalRecord): number {
  return HEADER_BYTES + serialize(record, BSON_WRITE_OPTIONS).length;
}

/**
 * Appends commands to the journal. A failed write or sync leaves the file and
 * the in-memory state possibly apart, so the writer then refuses everything
 * and the store must be restarted (replay restores the last committed state).
 */
export class JournalWriter {
  private fd: number;
  private readonly timer: NodeJS.Timeout;
  private dirty = false;
  private syncing: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  private bytes: number;

  constructor(readonly file: string) {
    // The journal may be one an older version created 0644: narrow it too.
    this.fd = openPrivate(file, 'a');
    this.bytes = fs.fstatSync(this.fd).size;
    this.timer = setInterval(() => this.syncSoon(), SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  /** The error that stopped the journal, if one did. */
  get failed(): Error | null {
    return this.failure;
  }

  /** The journal's size in bytes, what is appended included. */
  get size(): number {
    return this.bytes;
  }

  /** One command's records, in one write, before the command's reply is sent. */
  append(records: readonly JournalRecord[]): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('embedded store journal is closed');
    if (records.length === 0) return;
    try {
      const batch = encodeBatch(records);
      writeFully(this.fd, batch);
      this.bytes += batch.length;
      this.dirty = true;
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Replaces the journal with `records`, a snapshot of the live state, while
   * the store runs, and appends to the new file from then on. The new size,
   * or null when the snapshot could not be written (the old journal is then
   * untouched and still appended to, so nothing is lost and the store goes on).
   *
   * Why a crash at any point leaves a complete journal: the snapshot is
   * written to a temporary file and synced before anything else happens, so
   * until the rename the journal's name holds the old file, complete up to the
   * last command (every command is appended before its reply, and the caller
   * runs between commands). rename() replaces the name atomically: after it
   * the name holds the synced snapshot, which has everything the old file had.
   * The directory is synced before this returns, so no later command is
   * acknowledged while a power loss could still bring the old name back; and
   * if it did, the old file is still complete. A temporary file left by a
   * crash is never read: open removes it.
   */
  compact(records: Iterable<JournalRecord>): number | null {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('embedded store journal is closed');
    const temporary = snapshotFile(this.file);
    let bytes: number;
    try {
      bytes = writeSnapshotFile(temporary, records);
      fs.renameSync(temporary, this.file);
    } catch {
      // A full disk, say: the journal's name still holds the complete old file.
      try {
        fs.rmSync(temporary, { force: true });
      } catch {
        // Left behind, it is removed by the next open.
      }
      return null;
    }
    try {
      // The name now holds the snapshot: every later append must go there, never
      // to the old file, which no replay will read again.
      const previous = this.fd;
      this.fd = openPrivate(this.file, 'a');
      this.bytes = bytes;
      // The snapshot was synced whole, so nothing is waiting for a sync.
      this.dirty = false;
      this.retire(previous);
      syncDirectory(path.dirname(this.file));
    } catch (error) {
      this.fail(error);
    }
    return bytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.syncing;
    try {
      if (!this.failure) fs.fdatasyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
    if (this.failure) throw this.failure;
  }

  /** Closes the old file's descriptor once no sync is using it. */
  private retire(fd: number): void {
    const closeQuietly = (): void => {
      try {
        fs.closeSync(fd);
      } catch {
        // Nothing depends on the old file any more.
      }
    };
    if (this.syncing) void this.syncing.then(closeQuietly);
    else closeQuietly();
  }

  private syncSoon(): void {
    if (!this.dirty || this.syncing || this.closed || this.failure) return;
    this.dirty = false;
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve) => {
      fs.fdatasync(fd, (error) => {
        this.syncing = null;
        // A failed sync of a file a compaction replaced does not matter: the
        // snapshot that replaced it was synced with everything it held.
        if (error && fd === this.fd) {
          try {
            this.fail(error);
          } catch {
            // Recorded in this.failure: the next write or close reports it.
          }
        }
        resolve();
      });
    });
  }

  private fail(error: unknown): never {
    const cause = error instanceof Error ? error.message : String(error);
    this.failure = new Error(
      `embedded store journal ${this.file} could not be written (${cause}); ` +
        'the store refuses further commands until it is restarted',
    );
    throw this.failure;
  }
}
