import type { CliContext } from '../cli-context';
import { CommandExit, EXIT } from '../cli-errors';

/** Whether a person is at the keyboard to answer a prompt. */
export function canPrompt(ctx: CliContext): boolean {
  return ctx.stdin.isTTY === true && typeof ctx.stdin.setRawMode === 'function';
}

/**
 * Reads a secret from the terminal without echoing it: raw mode, so that
 * nothing typed reaches the screen (or the scrollback). Enter ends it,
 * Backspace deletes, Ctrl-C ends the command with 130.
 */
export function promptSecret(ctx: CliContext, question: string): Promise<string> {
  const { stdin } = ctx;
  ctx.stderr.write(question);
  stdin.setRawMode?.(true);
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      ctx.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new CommandExit(EXIT.interrupted));
        if (char === '\u0004' && value === '') return finish(new CommandExit(EXIT.interrupted));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    stdin.on('data', onData);
  });
}
