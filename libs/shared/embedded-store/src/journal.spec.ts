import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import { StoreEngine, type CompactionOptions } from './engine';
import { JOURNAL_FILE, encodeBatch, replayJournal, type JournalRecord } from './journal';

describe('journal', () => {
  let dir: string;
  let file: string;
  const open: StoreEngine[] = [];

  function openEngine(compaction?: CompactionOptions): StoreEngine {
    const engine = StoreEngine.open(dir, compaction);
    open.push(engine);
    return engine;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-journal-'));
    file = path.join(dir, JOURNAL_FILE);
  });

  afterEach(async () => {
    for (const engine of open.splice(0)) await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replays every write, index and drop into the same state', async () => {
    const engine = openEngine();
    const oid = new ObjectId();
    engine.insert('app', 'users', [
      { _id: 'u1', email: 'a@x', at: new Date(5), oid },
      { _id: 'u2', email: 'b@x' },
      { _id: 'u3', email: 'c@x' },
    ]);
    engine.createIndexes('app', 'users', [{ key: { email: 1 }, name: 'email_1', unique: true }]);
    engine.update('app', 'users', [{ q: { _id: 'u2' }, u: { $set: { email: 'b2@x' } } }]);
    engine.delete('app', 'users', [{ q: { _id: 'u3' }, limit: 1 }]);
    engine.insert('app', 'gone', [{ _id: 1 }]);
    engine.dropCollection('app', 'gone');
    engine.insert('scratch', 'c', [{ _id: 1 }]);
    engine.dropDatabase('scratch');
    engine.createCollection('app', 'empty');
    engine.createIndexes('app', 'users', [{ key: { tmp: 1 }, name: 'tmp_1' }]);
    engine.dropIndexes('app', 'users', 'tmp_1');
    await engine.close();

    const reopened = openEngine();
    expect(reopened.find('app', 'users')).toEqual([
      { _id: 'u1', email: 'a@x', at: new Date(5), oid },
      { _id: 'u2', email: 'b2@x' },
    ]);
    expect(reopened.listIndexes('app', 'users').map((i) => i.name)).toEqual(['_id_', 'email_1']);
    expect(
      reopened.insert('app', 'users', [{ _id: 'u9', email: 'a@x' }]).writeErrors[0],
    ).toMatchObject({
      code: 11000,
    });
    expect(reopened.listCollections('app').map((c) => c['name'])).toEqual(['users', 'empty']);
    expect(reopened.listDatabases().map((d) => d.name)).toEqual(['app']);
  });

  it('has an acknowledged write on disk when the call returns, without a close (a crash loses nothing)', () => {
    const engine = openEngine();
    engine.insert('app', 'c', [{ _id: 1, v: 'kept' }]);
    // A second engine reading the file now sees what a restarted process would.
    const afterCrash = openEngine();
    expect(afterCrash.find('app', 'c')).toEqual([{ _id: 1, v: 'kept' }]);
  });

  it('cuts off a torn final record and keeps everything before it', async () => {
    const engine = openEngine();
    engine.insert('app', 'c', [{ _id: 1 }, { _id: 2 }]);
    await engine.close();
    const intact = fs.statSync(file).size;
    const torn = encodeBatch([
      { op: 'put', db: 'app', coll: 'c', doc: { _id: 3, pad: 'x'.repeat(100) } },
    ]);
    fs.appendFileSync(file, torn.subarray(0, torn.length - 20));

    const reopened = openEngine();
    expect(reopened.openReport.truncatedBytes).toBe(torn.length - 20);
    expect(reopened.find('app', 'c').map((d) => d['_id'])).toEqual([1, 2]);
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(intact);
    reopened.insert('app', 'c', [{ _id: 4 }]);
    await reopened.close();
    expect(
      openEngine()
        .find('app', 'c')
        .map((d) => d['_id']),
    ).toEqual([1, 2, 4]);
  });

  it('drops a command whose records were not all written, and a zero-filled tail', async () => {
    const engine = openEngine();
    engine.insert('app', 'c', [{ _id: 1 }]);
    await engine.close();
    const batch: JournalRecord[] = [
      { op: 'put', db: 'app', coll: 'c', doc: { _id: 2 } },
      { op: 'put', db: 'app', coll: 'c', doc: { _id: 3 } },
    ];
    const bytes = encodeBatch(batch);
    const first = encodeBatch([batch[0]!]);
    // The first record is whole (but not the commit), the second is cut short.
    fs.appendFileSync(file, bytes.subarray(0, first.length + 10));
    fs.appendFileSync(file, Buffer.alloc(4096));
    const applied: JournalRecord[] = [];
    const result = replayJournal(file, (record) => applied.push(record));
    expect(applied.map((r) => r.op)).toEqual(['createCollection', 'put']);
    expect(result.truncatedBytes).toBe(first.length + 10 + 4096);
  });

  it('refuses to open a journal corrupt in the middle, naming the file and offset', async () => {
    const engine = openEngine();
    engine.insert('app', 'c', [{ _id: 1, v: 'a'.repeat(50) }]);
    engine.insert('app', 'c', [{ _id: 2 }]);
    await engine.close();
    const bytes = fs.readFileSync(file);
    // The first record starts after the 8-byte magic; flip a byte of its payload.
    bytes[8 + 16 + 10] = bytes[8 + 16 + 10]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => StoreEngine.open(dir)).toThrow(
      `embedded store journal ${file} is corrupt at offset 8: record payload checksum mismatch`,
    );
    bytes[8 + 16 + 10] = bytes[8 + 16 + 10]! ^ 0xff;
    bytes[8 + 2] = bytes[8 + 2]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => StoreEngine.open(dir)).toThrow(
      /corrupt at offset 8: record header checksum mismatch/,
    );
    fs.writeFileSync(file, 'not a journal at all');
    expect(() => StoreEngine.open(dir)).toThrow(/is not an embedded store journal/);
  });

  it('compacts a journal mostly made of dead records, keeping the live state', async () => {
    const engine = openEngine();
    engine.createIndexes('app', 'c', [{ key: { k: 1 }, name: 'k_1', unique: true }]);
    engine.insert('app', 'c', [
      { _id: 'doc', k: 'key', n: 0 },
      { _id: 'other', k: 'o' },
    ]);
    for (let i = 1; i <= 200; i++) {
      engine.update('app', 'c', [
        { q: { _id: 'doc' }, u: { $set: { n: i, pad: 'p'.repeat(200) } } },
      ]);
    }
    await engine.close();
    const before = fs.statSync(file).size;

    const compacted = openEngine();
    expect(compacted.openReport.compacted).toBe(true);
    const after = fs.statSync(file).size;
    expect(after).toBe(compacted.openReport.journalBytes);
    expect(after).toBeLessThan(before / 20);
    expect(fs.existsSync(`${file}.compact`)).toBe(false);
    expect(compacted.find('app', 'c', { filter: { _id: 'doc' } })[0]).toMatchObject({ n: 200 });
    compacted.insert('app', 'c', [{ _id: 'third', k: 'third' }]);
    await compacted.close();

    const again = openEngine();
    expect(again.openReport.compacted).toBe(false);
    expect(again.count('app', 'c')).toBe(3);
    expect(again.listIndexes('app', 'c').map((i) => i.name)).toEqual(['_id_', 'k_1']);
    expect(again.insert('app', 'c', [{ _id: 'dup', k: 'key' }]).writeErrors[0]).toMatchObject({
      code: 11000,
    });
  });

  it('refuses every command once a journal write has failed', async () => {
    const engine = StoreEngine.open(dir);
    engine.insert('app', 'c', [{ _id: 1 }]);
    const writer = (engine as unknown as { writer: { fd: number } }).writer;
    const realFd = writer.fd;
    // An invalid descriptor makes the next append fail as a full or broken disk would.
    writer.fd = 2 ** 30;
    expect(() => engine.insert('app', 'c', [{ _id: 2 }])).toThrow(/could not be written/);
    expect(() => engine.find('app', 'c')).toThrow(/could not be written/);
    writer.fd = realFd;
    await expect(engine.close()).rejects.toThrow(/could not be written/);
    // What was acknowledged before the failure is still there after a restart.
    expect(openEngine().find('app', 'c')).toEqual([{ _id: 1 }]);
  });

  const mode = (target: string): number => fs.statSync(target).mode & 0o777;

  it('writes the journal and compacted journals owner-only (0600), narrowing an old 0644 one', async () => {
    const umask = process.umask(0o022);
    try {
      const engine = openEngine();
      expect(mode(file)).toBe(0o600);
      engine.insert('app', 'c', [{ _id: 1, pad: 'p'.repeat(500) }]);
      for (let i = 0; i < 50; i++) {
        engine.update('app', 'c', [{ q: { _id: 1 }, u: { $set: { n: i } } }]);
      }
      await engine.close();
      // As an older version left it: readable by everyone.
      fs.chmodSync(file, 0o644);
      const reopened = openEngine();
      expect(reopened.openReport.compacted).toBe(true);
      expect(mode(file)).toBe(0o600);
      await reopened.close();
      fs.chmodSync(file, 0o644);
      const again = openEngine();
      expect(again.openReport.compacted).toBe(false);
      expect(mode(file)).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });

  describe('compaction while running', () => {
    const SMALL = { ratio: 2, minDeadBytes: 32 * 1024 };

    it('keeps the journal bounded through many insert and delete cycles', () => {
      const umask = process.umask(0o022);
      try {
        const engine = openEngine(SMALL);
        engine.insert('app', 'keep', [{ _id: 'k', v: 1 }]);
        let largest = 0;
        for (let i = 0; i < 3_000; i++) {
          // What every API request does to the rate-limit slots.
          engine.insert('app', 'slots', [{ _id: `slot-${i}`, pad: 'p'.repeat(200) }]);
          engine.delete('app', 'slots', [{ q: { _id: `slot-${i}` }, limit: 1 }]);
          largest = Math.max(largest, fs.statSync(file).size);
        }
        // 3,000 cycles write about 1.5 MB of records; the journal never holds much over the
        // threshold of dead records (plus the live data, one command and the record headers).
        expect(largest).toBeLessThan(SMALL.minDeadBytes + 4 * 1024);
        expect(engine.compactionStats.compactions).toBeGreaterThan(10);
        expect(engine.compactionStats.failures).toBe(0);
        expect(mode(file)).toBe(0o600);
        expect(fs.existsSync(`${file}.compact`)).toBe(false);
        expect(engine.find('app', 'keep')).toEqual([{ _id: 'k', v: 1 }]);
        expect(engine.count('app', 'slots')).toBe(0);
      } finally {
        process.umask(umask);
      }
    });

    it('leaves a journal that reopens with every live document and index, appends included', async () => {
      const engine = openEngine(SMALL);
      engine.createIndexes('app', 'users', [
        { key: { email: 1 }, name: 'email_1', unique: true },
        { key: { team: 1, at: -1 }, name: 'team_at' },
      ]);
      engine.insert(
        'app',
        'users',
        Array.from({ length: 50 }, (_, i) => ({ _id: `u${i}`, email: `${i}@x`, team: i % 3 })),
      );
      for (let round = 0; round < 400; round++) {
        engine.update('app', 'users', [
          {
            q: { _id: `u${round % 50}` },
            u: { $set: { at: new Date(round), pad: 'q'.repeat(150) } },
          },
        ]);
      }
      engine.insert('app', 'gone', [{ _id: 1 }]);
      engine.dropCollection('app', 'gone');
      expect(engine.compactionStats.compactions).toBeGreaterThan(0);
      // Written after the last compaction: must land in the new file, not the replaced one.
      engine.insert('app', 'users', [{ _id: 'late', email: 'late@x', team: 9 }]);
      const expected = engine.find('app', 'users');

      // A second engine reading the directory now is what a restart after a crash sees.
      const afterCrash = openEngine();
      expect(afterCrash.find('app', 'users')).toEqual(expected);
      expect(afterCrash.count('app', 'users')).toBe(51);
      expect(afterCrash.listIndexes('app', 'users').map((i) => i.name)).toEqual([
        '_id_',
        'email_1',
        'team_at',
      ]);
      expect(afterCrash.listCollections('app').map((c) => c['name'])).toEqual(['users']);
      expect(
        afterCrash.insert('app', 'users', [{ _id: 'dup', email: 'late@x' }]).writeErrors[0],
      ).toMatchObject({ code: 11000 });
      await engine.close();
    });

    it('recovers from a crash in the middle of a compaction: the temporary file is ignored and removed', async () => {
      const engine = openEngine();
      engine.insert('app', 'c', [{ _id: 1 }, { _id: 2, v: 'x'.repeat(100) }]);
      engine.delete('app', 'c', [{ q: { _id: 1 }, limit: 1 }]);
      await engine.close();
      const journal = fs.readFileSync(file);
      const temporary = `${file}.compact`;
      for (const leftover of [
        // Cut short while being written...
        journal.subarray(0, journal.length - 30),
        // ...or written whole (an older state) but never renamed.
        encodeBatch([{ op: 'createCollection', db: 'app', coll: 'other', options: {} }]),
      ]) {
        fs.writeFileSync(temporary, leftover);
        const reopened = openEngine();
        expect(fs.existsSync(temporary)).toBe(false);
        expect(reopened.find('app', 'c')).toEqual([{ _id: 2, v: 'x'.repeat(100) }]);
        expect(reopened.listCollections('app').map((c) => c['name'])).toEqual(['c']);
        await reopened.close();
      }
    });

    it('keeps the old journal and goes on when the snapshot cannot be written', async () => {
      const engine = openEngine(SMALL);
      // A directory where the temporary file goes makes every snapshot fail, as a full disk would.
      fs.mkdirSync(`${file}.compact`);
      for (let i = 0; i < 400; i++) {
        engine.insert('app', 'c', [{ _id: i, pad: 'p'.repeat(200) }]);
        engine.delete('app', 'c', [{ q: { _id: i }, limit: 1 }]);
      }
      engine.insert('app', 'c', [{ _id: 'kept' }]);
      expect(engine.compactionStats.failures).toBeGreaterThan(0);
      // Failed attempts are spaced out, not repeated after every command.
      expect(engine.compactionStats.failures).toBeLessThan(10);
      expect(engine.compactionStats.compactions).toBe(0);
      fs.rmdirSync(`${file}.compact`);
      await engine.close();
      expect(openEngine().find('app', 'c')).toEqual([{ _id: 'kept' }]);
    });
  });
});
