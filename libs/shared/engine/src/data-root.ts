import { mkdir, opendir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DEFAULT_WORKSPACE_ID } from '@cloudflow/contracts';

/** A path that would leave the data root, or does not name a usable file. */
export class DataPathError extends Error {
  override readonly name = 'DataPathError';
}

/**
 * Resolves a user path such as `/fake/data.csv` inside the data root
 * (`CLOUDFLOW_DATA_DIR`). `..`, encoded variants and symlinks that lead out
 * of the root are refused: the resolved real path must stay inside it.
 */
export async function resolveDataPath(root: string, userPath: string): Promise<string> {
  if (userPath.includes('\0')) throw new DataPathError('path must not contain NUL bytes');
  if (/^[a-z][a-z0-9+.-]*:/i.test(userPath)) {
    throw new DataPathError(`'${userPath}' is not a path inside the data root`);
  }
  let decoded = userPath;
  try {
    decoded = decodeURIComponent(userPath);
  } catch {
    // Not percent-encoded; use as written.
  }
  const segments = decoded.split(/[\\/]/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new DataPathError("path must not contain '..' segments");
  }
  if (segments[0] === RESERVED_DIR || segments[0] === WORKSPACES_DIR) {
    throw new DataPathError(`'/${segments[0]}' is reserved for CloudFlow's own files`);
  }
  const realRoot = await realpath(root);
  const candidate = resolve(realRoot, `.${sep}${userPath.replace(/^[\\/]+/, '')}`);
  assertInside(realRoot, candidate, userPath);
  // Follow symlinks on the deepest part that exists; a link out of the root is refused.
  const real = await realpathOfExisting(candidate);
  assertInside(realRoot, real, userPath);
  return candidate;
}

/** CloudFlow's own files under the data root (staged job output); no user path may name it. */
export const RESERVED_DIR = '.cloudflow';
/** Where the files of workspaces other than the default one live; no user path may name it. */
export const WORKSPACES_DIR = 'workspaces';

/**
 * The data root a workspace's paths resolve in: the root itself for the
 * default workspace (so the published `/fake/data.csv` works as written),
 * `<root>/workspaces/<id>` for every other one. A workspace can never name
 * another's files: each resolves inside its own root, and the default one
 * cannot reach `/workspaces`.
 */
export async function workspaceDataRoot(root: string, workspaceId: string): Promise<string> {
  if (workspaceId === DEFAULT_WORKSPACE_ID) return root;
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(workspaceId)) {
    throw new DataPathError('not a workspace id that can own files');
  }
  const dir = join(root, WORKSPACES_DIR, workspaceId);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Resolves an input path that must be an existing regular file; returns it with its size. */
export async function resolveInputFile(
  root: string,
  userPath: string,
): Promise<{ path: string; size: number; mtimeMs: number }> {
  const path = await resolveDataPath(root, userPath);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new DataPathError(`input '${userPath}' does not exist under the data root`);
  if (!info.isFile()) throw new DataPathError(`input '${userPath}' is not a file`);
  return { path, size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * Resolves a job's input and checks it is the file the job was submitted on:
 * byte ranges planned on one version of a file must not be read from another.
 */
export async function resolveSubmittedInput(
  root: string,
  userPath: string,
  submitted: { bytesTotal: number; mtimeMs: number },
): Promise<string> {
  const file = await resolveInputFile(root, userPath);
  if (file.size !== submitted.bytesTotal || file.mtimeMs !== submitted.mtimeMs) {
    throw new DataPathError(
      `input '${userPath}' changed after the job was submitted; submit a new job to read it`,
    );
  }
  return file.path;
}

function assertInside(root: string, path: string, userPath: string): void {
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new DataPathError(`'${userPath}' leads outside the data root`);
  }
}

async function realpathOfExisting(path: string): Promise<string> {
  let current = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(await realpath(current), ...rest);
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest.unshift(current.slice(parent.length + 1));
      current = parent;
    }
  }
}

/**
 * The regular files directly in a directory under the data root (resolved
 * and confined like any path), by name, at most `limit` of them.
 */
export async function listDirectory(
  root: string,
  userPath: string,
  limit: number,
): Promise<{ files: { name: string; size: number }[]; truncated: boolean }> {
  const dir = await resolveDataPath(root, userPath);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new DataPathError(`'${userPath}' is not a directory under the data root`);
  }
  const files: { name: string; size: number }[] = [];
  let truncated = false;
  // Streams the entries: a directory of a million files is not read into memory.
  for await (const entry of await opendir(dir)) {
    if (!entry.isFile()) continue;
    if (files.length >= limit) {
      truncated = true;
      break;
    }
    files.push({ name: entry.name, size: (await stat(join(dir, entry.name))).size });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, truncated };
}
