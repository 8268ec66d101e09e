import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCK_FILE, lockDirectory } from './lock';

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
});
