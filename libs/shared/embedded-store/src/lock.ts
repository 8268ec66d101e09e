import * as fs from 'node:fs';
import * as path from 'node:path';

export const LOCK_FILE = 'LOCK';
/** The store's directory is the owner's only: see prepareStoreDirectory. */
export const DIRECTORY_MODE = 0o700;
/** Same as the journal's (journal.ts FILE_MODE); repeated to keep this file free of the journal. */
const LOCK_MODE = 0o600;

/**
 * Creates the store's directory owner-only (0700), or narrows an existing one
 * we own to 0700: the journal inside holds results, API key hashes and sealed
 * secrets, and on a shared machine a 0755 directory would let anyone list
 * and (with a loose file mode) read them. A directory someone else owns is
 * left alone: changing it is not ours to do (and would fail anyway).
 */
export function prepareStoreDirectory(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIRECTORY_MODE });
  const stat = fs.statSync(dir);
  if (!stat.isDirectory()) throw new Error(`the store's directory ${dir} is not a directory`);
  const ownedByUs = typeof process.getuid === 'function' && stat.uid === process.getuid();
  if (ownedByUs && (stat.mode & 0o777) !== DIRECTORY_MODE) fs.chmodSync(dir, DIRECTORY_MODE);
}

/** Directories this process holds, so a LOCK left by an earlier process with our pid is seen as stale. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirectoryLock {
  release(): void;
}

/**
 * Takes the directory for this process: creates `LOCK` exclusively with our
 * pid. Two stores replaying and appending one journal would corrupt it, so a
 * LOCK whose process is alive refuses the open; one whose process is gone (a
 * crash) is taken over. Our own pid in a LOCK we do not hold means a previous
 * process that had the same pid (a restarted container) and is stale too.
 */
export function lockDirectory(dir: string): DirectoryLock {
  const resolved = fs.realpathSync(dir);
  const file = path.join(resolved, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', LOCK_MODE);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      heldHere.add(resolved);
      return { release: () => release(resolved, file) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(file);
    if (owner === null && justCreated(file)) {
      // Another process created it an instant ago and is writing its pid.
      throw inUse(resolved, file, 'another process');
    }
    const ours = owner === process.pid && heldHere.has(resolved);
    if (owner !== null && (ours || (owner !== process.pid && isAlive(owner)))) {
      throw inUse(resolved, file, `process ${owner}`);
    }
    // Stale: remove it (if it still is the one we judged) and race any other taker
    // through the exclusive create again.
    if (readOwner(file) !== owner) continue;
    try {
      fs.unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`could not take the lock ${file}: it keeps being recreated`);
}

function inUse(dir: string, file: string, owner: string): Error {
  return new Error(
    `embedded store directory ${dir} is in use by ${owner} (${file}); only one store may ` +
      'open a directory at a time. If no CloudFlow store is running, delete the LOCK file.',
  );
}

function justCreated(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 5_000;
  } catch {
    return false;
  }
}

function readOwner(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function release(resolved: string, file: string): void {
  if (!heldHere.delete(resolved)) return;
  // Only remove a LOCK that is still ours, never one a later taker wrote.
  if (readOwner(file) === process.pid) fs.rmSync(file, { force: true });
}
