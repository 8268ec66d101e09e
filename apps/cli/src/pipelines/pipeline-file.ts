import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { CliContext } from '../cli-context';
import { UsageError } from '../cli-errors';

/**
 * A pipeline definition from a file: `.json` as JSON, anything else as YAML
 * (which also reads JSON); `-` reads stdin. Only plain data comes out: the
 * YAML core schema has no tags that build objects, and aliases are capped.
 */
export async function readPipelineFile(ctx: CliContext, path: string): Promise<unknown> {
  const text = path === '-' ? await readStdin(ctx) : await readText(path);
  const name = path === '-' ? 'stdin' : path;
  if (extname(path).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new UsageError(`${name} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problem = document.errors[0];
  if (problem) {
    throw new UsageError(`${name} is not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  return document.toJS({ maxAliasCount: 100 }) as unknown;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : (code ?? 'unreadable');
    throw new UsageError(`cannot read ${path}: ${reason}`);
  }
}

async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
