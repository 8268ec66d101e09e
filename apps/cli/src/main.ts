import { Command, CommanderError } from 'commander';
import { processContext, type CliContext } from './cli-context';
import { CommandExit, EXIT, describeError, exitCodeOf } from './cli-errors';
import { registerApiKeyCommands } from './commands/api-keys.commands';
import { registerAuthCommands } from './commands/auth.commands';
import { registerDataSourceCommands } from './commands/datasources.commands';
import { registerJobCommands } from './commands/jobs.commands';
import { registerPipelineCommands } from './commands/pipelines.commands';
import { registerResultsCommand } from './commands/results.command';
import { registerStartCommand } from './commands/start.command';
import { DEFAULT_URL } from './config/session';
import { cliVersion } from './version';

/**
 * `cloudflow`: the command line of CloudFlow. Takes the arguments after the
 * program name and answers the exit code: 0 done, 1 refused or failed,
 * 2 wrong usage, 130 interrupted (see the README's "Command line").
 */
export function main(argv: string[]): Promise<number> {
  return run(argv, processContext());
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message or the help already.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (!(error instanceof CommandExit)) {
      const debug = ctx.env['CLOUDFLOW_DEBUG'] === '1';
      for (const line of describeError(error, debug)) ctx.stderr.write(`${line}\n`);
    }
    return exitCodeOf(error);
  }
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('cloudflow')
    .description(
      'Drive CloudFlow from a terminal: pipelines, jobs, results, data sources and API keys.',
    )
    .version(cliVersion(), '-V, --version', 'print the version')
    .option(
      '--url <url>',
      `the CloudFlow server (default: CLOUDFLOW_URL, the profile's, ${DEFAULT_URL})`,
    )
    .option(
      '--profile <name>',
      'which saved login to use (default: CLOUDFLOW_PROFILE or "default")',
    )
    .option('--json', 'print one machine-readable JSON document on stdout, nothing else')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      getOutHelpWidth: () => ctx.stdout.columns || 80,
      getErrHelpWidth: () => ctx.stderr.columns || 80,
    })
    // Errors come back to run() as exceptions instead of ending the process.
    .exitOverride()
    .addHelpText(
      'after',
      `
Environment:
  CLOUDFLOW_URL      the server, when --url is not given
  CLOUDFLOW_API_KEY  an API key to use instead of the saved login
  CLOUDFLOW_PROFILE  the saved login to use, when --profile is not given
  CLOUDFLOW_DEBUG=1  show the stack of an unexpected error

Exit codes: 0 done, 1 refused or failed (the error on stderr), 2 wrong usage, 130 Ctrl-C.

Getting started:
  cloudflow start                                  # CloudFlow on this machine, logged in
  cloudflow pipelines apply -f pipeline.yaml
  cloudflow jobs submit --pipeline people-upper --input /fake/data.csv --watch
  cloudflow results job_...`,
    );
  registerStartCommand(program, ctx);
  registerAuthCommands(program, ctx);
  registerPipelineCommands(program, ctx);
  registerJobCommands(program, ctx);
  registerResultsCommand(program, ctx);
  registerDataSourceCommands(program, ctx);
  registerApiKeyCommands(program, ctx);
  return program;
}
