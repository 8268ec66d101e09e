import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../cli-context';
import { Session, type GlobalOptions } from '../config/session';
import { Printer } from '../output/printer';

/** What a command's action needs: its session with the server and its output. */
export interface CommandScope {
  ctx: CliContext;
  options: GlobalOptions;
  session: Session;
  printer: Printer;
}

export function scopeOf(ctx: CliContext, command: Command): CommandScope {
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    ctx,
    options,
    session: new Session(ctx, options),
    printer: new Printer(ctx, options.json === true),
  };
}

/** Commander's option parser for positive whole numbers. */
export function positiveInt(max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) {
      throw new InvalidArgumentError(`Expected a whole number from 1 to ${max}.`);
    }
    return n;
  };
}

/** Commander's option parser for a number of seconds, fractions allowed. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected seconds above 0.');
  return n;
}

/** Shows a secret's beginning only: enough to recognise it, not to use it. */
export function secretPrefix(secret: string): string {
  return secret.length <= 12 ? `${secret.slice(0, 4)}…` : `${secret.slice(0, 8)}…`;
}

/** Gathers every item of a paginated list, up to `limit`. */
export async function collect<T>(pages: AsyncGenerator<T[]>, limit: number): Promise<T[]> {
  const items: T[] = [];
  for await (const page of pages) {
    items.push(...page);
    if (items.length >= limit) {
      await pages.return(undefined);
      return items.slice(0, limit);
    }
  }
  return items;
}

/** ISO time as `2026-11-28 16:05:31` (UTC, as the server keeps it); empty for none. */
export function shortTime(value: string | null | undefined): string {
  if (!value) return '';
  return value.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}
