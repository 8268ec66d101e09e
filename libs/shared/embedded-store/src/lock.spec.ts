import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCK_FILE, lockDirectory, prepareStoreDirectory } from './lock';

/** The pid of a process that has exited, so no live process holds it. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('lockDirectory', () => {
  let dir: string;
  let lockFile: string;

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-lock-')));
    lockFile = path.join(dir, LOCK_FILE);
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the directory with a LOCK holding our pid and releases it', () => {
    const lock = lockDirectory(dir);
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    expect(() => lockDirectory(dir)).toThrow(
      `embedded store directory ${dir} is in use by process ${process.pid} (${lockFile})`,
    );
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
    lockDirectory(dir).release();
  });

  it('refuses a LOCK held by another live process', () => {
    fs.writeFileSync(lockFile, `${process.ppid}\n`);
    expect(() => lockDirectory(dir)).toThrow(new RegExp(`in use by process ${process.ppid}`));
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.ppid));
  });

  it('takes over a LOCK left by a process that is gone', () => {
    fs.writeFileSync(lockFile, `${deadPid()}\n`);
    const lock = lockDirectory(dir);
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('takes over a LOCK with our pid that this process does not hold (a restarted container)', () => {
    fs.writeFileSync(lockFile, `${process.pid}\n`);
    const lock = lockDirectory(dir);
    expect(() => lockDirectory(dir)).toThrow(/in use/);
    lock.release();
  });

  it('treats an empty LOCK as being written now, and an old empty one as stale', () => {
    fs.writeFileSync(lockFile, '');
    expect(() => lockDirectory(dir)).toThrow(/in use by another process/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, old, old);
    lockDirectory(dir).release();
  });

  const mode = (file: string): number => fs.statSync(file).mode & 0o777;

  it('writes the LOCK owner-only (0600), whatever the umask allows', () => {
    const umask = process.umask(0o022);
    try {
      const lock = lockDirectory(dir);
      expect(mode(lockFile)).toBe(0o600);
      lock.release();
    } finally {
      process.umask(umask);
    }
  });
});

describe('prepareStoreDirectory', () => {
  let parent: string;

  beforeEach(() => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflow-storedir-'));
  });

  afterEach(() => fs.rmSync(parent, { recursive: true, force: true }));

  const mode = (file: string): number => fs.statSync(file).mode & 0o777;

  it('creates the directory (and missing parents) 0700', () => {
    const umask = process.umask(0o022);
    try {
      const dir = path.join(parent, 'home', 'store');
      prepareStoreDirectory(dir);
      expect(mode(dir)).toBe(0o700);
    } finally {
      process.umask(umask);
    }
  });

  it('narrows an existing directory of ours to 0700, keeping what is in it', () => {
    const dir = path.join(parent, 'store');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'keep'), 'x');
    prepareStoreDirectory(dir);
    expect(mode(dir)).toBe(0o700);
    expect(fs.readFileSync(path.join(dir, 'keep'), 'utf8')).toBe('x');
  });

  it('refuses a path that is a file', () => {
    const file = path.join(parent, 'file');
    fs.writeFileSync(file, '');
    expect(() => prepareStoreDirectory(file)).toThrow();
  });
});
