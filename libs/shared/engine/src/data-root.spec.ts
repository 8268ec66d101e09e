import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataPathError,
  resolveDataPath,
  resolveInputFile,
  resolveSubmittedInput,
  workspaceDataRoot,
} from './data-root';

let base: string;
/** The data root as given (a real directory). */
let root: string;
/** Its real path, which resolved paths are built on. */
let realRoot: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'cloudflow-data-root-'));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(join(root, 'dir'));
  await mkdir(join(base, 'outside'));
  await writeFile(join(root, 'data.csv'), 'id,name\n1,a\n');
  await writeFile(join(root, 'sub', 'nested.csv'), 'x\n');
  await writeFile(join(root, '..data.csv'), 'id\n1\n');
  await writeFile(join(base, 'outside', 'secret.csv'), 'top secret\n');
  await symlink(join(base, 'outside', 'secret.csv'), join(root, 'link-out.csv'));
  await symlink(join(base, 'outside'), join(root, 'linkdir-out'));
  await symlink(join(root, 'data.csv'), join(root, 'link-in.csv'));
  await symlink(join(root, 'sub'), join(root, 'linkdir-in'));
  await symlink(root, join(base, 'root-link'));
  realRoot = await realpath(root);
});

afterAll(() => rm(base, { recursive: true, force: true }));

/** The DataPathError message resolveDataPath refuses `userPath` with. */
async function refusal(
  userPath: string,
  resolve: (root: string, path: string) => Promise<unknown> = resolveDataPath,
): Promise<string> {
  try {
    await resolve(root, userPath);
  } catch (error) {
    expect(error).toBeInstanceOf(DataPathError);
    return (error as Error).message;
  }
  throw new Error(`'${userPath}' was not refused`);
}

describe('resolveDataPath', () => {
  it('resolves a user path inside the data root', async () => {
    await expect(resolveDataPath(root, '/data.csv')).resolves.toBe(join(realRoot, 'data.csv'));
    await expect(resolveDataPath(root, 'data.csv')).resolves.toBe(join(realRoot, 'data.csv'));
    await expect(resolveDataPath(root, '/sub/nested.csv')).resolves.toBe(
      join(realRoot, 'sub', 'nested.csv'),
    );
    await expect(resolveDataPath(root, '//sub/./nested.csv')).resolves.toBe(
      join(realRoot, 'sub', 'nested.csv'),
    );
  });

  it('resolves a path that does not exist yet (an output) inside the root', async () => {
    await expect(resolveDataPath(root, '/out/2025/result.csv')).resolves.toBe(
      join(realRoot, 'out', '2025', 'result.csv'),
    );
  });

  it('resolves against the real root when the root itself is a symlink', async () => {
    await expect(resolveDataPath(join(base, 'root-link'), '/data.csv')).resolves.toBe(
      join(realRoot, 'data.csv'),
    );
  });

  it.each([
    '../outside/secret.csv',
    '/../outside/secret.csv',
    '/sub/../../outside/secret.csv',
    '/sub/../data.csv',
    '..',
    '/sub/..',
    '..\\outside\\secret.csv',
  ])("refuses '..' segments: %s", async (userPath) => {
    expect(await refusal(userPath)).toBe("path must not contain '..' segments");
  });

  it.each(['%2e%2e/outside/secret.csv', '/%2E%2E%2Foutside%2Fsecret.csv', '/sub/.%2e/.%2E/x'])(
    "refuses percent-encoded '..': %s",
    async (userPath) => {
      expect(await refusal(userPath)).toBe("path must not contain '..' segments");
    },
  );

  it.each(['file:///etc/passwd', 's3://x', 'http://example.com/data.csv', 'FILE:/etc/passwd'])(
    'refuses URLs: %s',
    async (userPath) => {
      expect(await refusal(userPath)).toBe(`'${userPath}' is not a path inside the data root`);
    },
  );

  it('refuses NUL bytes', async () => {
    expect(await refusal('/data.csv\0.txt')).toBe('path must not contain NUL bytes');
  });

  it('refuses the data root itself', async () => {
    expect(await refusal('/')).toBe("'/' leads outside the data root");
  });

  it('refuses a symlink inside the root that points outside it', async () => {
    expect(await refusal('/link-out.csv')).toBe("'/link-out.csv' leads outside the data root");
  });

  it('refuses a path through a symlinked directory that points outside the root', async () => {
    expect(await refusal('/linkdir-out/secret.csv')).toBe(
      "'/linkdir-out/secret.csv' leads outside the data root",
    );
    // Also for a file that does not exist yet: writing it would land outside.
    expect(await refusal('/linkdir-out/new/result.csv')).toBe(
      "'/linkdir-out/new/result.csv' leads outside the data root",
    );
  });

  it('accepts a symlink inside the root that points inside it', async () => {
    await expect(resolveDataPath(root, '/link-in.csv')).resolves.toBe(
      join(realRoot, 'link-in.csv'),
    );
    await expect(resolveDataPath(root, '/linkdir-in/nested.csv')).resolves.toBe(
      join(realRoot, 'linkdir-in', 'nested.csv'),
    );
  });

  it('accepts a file whose name merely starts with two dots', async () => {
    // `..data.csv` is an ordinary file inside the root, but the containment
    // check tests `relative(root, path).startsWith('..')`, so it is refused
    // with "'/..data.csv' leads outside the data root".
    await expect(resolveDataPath(root, '/..data.csv')).resolves.toBe(join(realRoot, '..data.csv'));
  });
});

describe('resolveInputFile', () => {
  it('returns the resolved path and the size of an existing file', async () => {
    await expect(resolveInputFile(root, '/data.csv')).resolves.toStrictEqual({
      path: join(realRoot, 'data.csv'),
      size: 12,
      mtimeMs: expect.any(Number),
    });
  });

  it('follows a symlink that stays inside the root', async () => {
    await expect(resolveInputFile(root, '/link-in.csv')).resolves.toStrictEqual({
      path: join(realRoot, 'link-in.csv'),
      size: 12,
      mtimeMs: expect.any(Number),
    });
  });

  it('gives the default workspace the root and every other workspace a root of its own', async () => {
    expect(await workspaceDataRoot(root, 'ws_default')).toBe(root);
    const other = await workspaceDataRoot(root, 'ws_acme');
    expect(other).toBe(join(root, 'workspaces', 'ws_acme'));
    // The other workspace cannot name the default one's files, nor the default one its files.
    await expect(resolveInputFile(other, '/data.csv')).rejects.toThrow('does not exist');
    expect(await refusal('/workspaces/ws_acme/x.csv', resolveInputFile)).toBe(
      "'/workspaces' is reserved for CloudFlow's own files",
    );
    await expect(workspaceDataRoot(root, '../ws')).rejects.toThrow(DataPathError);
  });

  it("refuses CloudFlow's own staging area as a path", async () => {
    expect(await refusal('/.cloudflow/jobs/job_1/parts/000000.a1.part', resolveInputFile)).toBe(
      "'/.cloudflow' is reserved for CloudFlow's own files",
    );
  });

  it('refuses an input that changed after submission, and accepts the same file', async () => {
    const { size, mtimeMs } = await resolveInputFile(root, '/data.csv');
    await expect(
      resolveSubmittedInput(root, '/data.csv', { bytesTotal: size, mtimeMs }),
    ).resolves.toBe(join(realRoot, 'data.csv'));
    await expect(
      resolveSubmittedInput(root, '/data.csv', { bytesTotal: size + 1, mtimeMs }),
    ).rejects.toThrow("input '/data.csv' changed after the job was submitted");
  });

  it('says when the input does not exist', async () => {
    expect(await refusal('/missing.csv', resolveInputFile)).toBe(
      "input '/missing.csv' does not exist under the data root",
    );
  });

  it('says when the input is a directory', async () => {
    expect(await refusal('/dir', resolveInputFile)).toBe("input '/dir' is not a file");
  });

  it('refuses inputs outside the root before looking at them', async () => {
    expect(await refusal('/link-out.csv', resolveInputFile)).toBe(
      "'/link-out.csv' leads outside the data root",
    );
    expect(await refusal('../outside/secret.csv', resolveInputFile)).toBe(
      "path must not contain '..' segments",
    );
  });
});
