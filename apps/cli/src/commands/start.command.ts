import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { UsageError } from '../cli-errors';
import { positiveInt, scopeOf } from './command-kit';

interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
}

export function registerStartCommand(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description(
      'run CloudFlow on this machine: standalone mode, every service in this one process',
    )
    .option('--port <n>', 'the port to serve the API on (default 8080)', positiveInt(65_535))
    .option('--host <address>', 'the address to listen on (default 127.0.0.1: this machine only)')
    .option('--data-dir <dir>', 'the data root: job inputs and file outputs')
    .addHelpText(
      'after',
      `
Prints the URL and the admin API key, and saves them as your login unless the
profile already has one. Runs until Ctrl-C (or SIGTERM), then stops cleanly;
pipelines, jobs and results are kept for the next start.`,
    )
    .action(async (options: StartOptions, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      printer.note('Starting CloudFlow in standalone mode...');
      // Loaded here only: no other command should pay for loading every service.
      const { startStandalone } = await import('@cloudflow/standalone');
      const server = await startStandalone({
        ...(options.port !== undefined && { port: options.port }),
        ...(options.host !== undefined && { host: options.host }),
        ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      }).catch((error: unknown) => {
        const failure = error as NodeJS.ErrnoException & { port?: number };
        if (failure.code === 'EADDRINUSE') {
          throw new UsageError(
            `port ${failure.port ?? options.port ?? 8080} is already in use: is CloudFlow already running? Choose another with --port`,
          );
        }
        // Bad settings, a store another process holds, a damaged journal: the whole message.
        throw new UsageError(
          `standalone mode could not start: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      const stopped = waitForStopSignal(ctx);
      const existing = session.store.profile(session.profileName);
      if (!existing) {
        session.store.saveProfile(session.profileName, {
          url: server.baseUrl,
          credential: { kind: 'api-key', apiKey: server.apiKey },
        });
      }
      if (printer.json) {
        printer.document({ url: server.baseUrl, apiKey: server.apiKey, loginSaved: !existing });
      } else {
        printer.line(`CloudFlow is running at ${server.baseUrl}`);
        printer.line(`API key: ${server.apiKey}`);
        printer.line(
          existing
            ? `Profile '${session.profileName}' already has a login (${existing.url}); to use this server: cloudflow login --url ${server.baseUrl} --api-key <the key above>`
            : `Saved as your login (profile '${session.profileName}'): try \`cloudflow whoami\`.`,
        );
        printer.line('Press Ctrl-C to stop.');
      }
      const signal = await stopped;
      printer.note(`${signal}: stopping CloudFlow...`);
      await server.stop();
      printer.note('Stopped.');
    });
}

function waitForStopSignal(ctx: CliContext): Promise<'SIGINT' | 'SIGTERM'> {
  return new Promise((resolve) => {
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    const finish = (signal: 'SIGINT' | 'SIGTERM') => {
      ctx.signals.off('SIGINT', onInt);
      ctx.signals.off('SIGTERM', onTerm);
      resolve(signal);
    };
    ctx.signals.on('SIGINT', onInt);
    ctx.signals.on('SIGTERM', onTerm);
  });
}
