import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import { StoreEngine } from './engine';
import { JOURNAL_FILE, encodeBatch, replayJournal, type JournalRecord } from './journal';

describe('journal', () => {
  let dir: string;
  let file: string;
  const open: StoreEngine[] = [];

  function openEngine(): StoreEngine {
    const engine = StoreEngine.open(dir);
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
});
