import { Option, type Command } from 'commander';
import {
  DATA_SOURCE_TYPE_NAMES,
  MAX_PAGE_SIZE,
  type ConnectionTestResult,
  type DataSource,
} from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { CommandExit, EXIT, UsageError } from '../cli-errors';
import type { ApiClient } from '../http/api-client';
import { canPrompt, promptSecret } from '../auth/secret-prompt';
import type { Printer } from '../output/printer';
import { collect, positiveInt, scopeOf, shortTime } from './command-kit';

const DATASOURCES = '/api/v1/datasources';

const typeOption = (description: string) =>
  new Option('--type <type>', description).choices(DATA_SOURCE_TYPE_NAMES);

export function registerDataSourceCommands(program: Command, ctx: CliContext): void {
  const datasources = program
    .command('datasources')
    .description('save, test, list and delete data sources (databases, buckets, files)');

  datasources
    .command('list')
    .description('list data sources (connection strings shown with the password as ****)')
    .option('--limit <n>', 'show at most this many', positiveInt(), 1000)
    .action(async (options: { limit: number }, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const items = await collect(
        session.api.pages<DataSource>(DATASOURCES, { limit: MAX_PAGE_SIZE }),
        options.limit,
      );
      if (printer.json) return printer.document(items);
      printer.table(
        [
          { header: 'ID', value: (d: DataSource) => d.id, keep: true },
          { header: 'NAME', value: (d) => d.name },
          { header: 'DRIVER', value: (d) => d.driver },
          { header: 'CONNECTION', value: (d) => d.connectionString },
          { header: 'UPDATED', value: (d) => shortTime(d.updatedAt) },
        ],
        items,
        'No data sources yet: save one with `cloudflow datasources create`.',
      );
    });

  datasources
    .command('get')
    .description('show a data source')
    .argument('<datasource>', 'its id (ds_...) or name')
    .action(async (idOrName: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const source = await resolveDataSource(session.api, idOrName);
      if (printer.json) return printer.document(source);
      printFields(printer, source);
    });

  datasources
    .command('create')
    .description('save a data source; its password is stored sealed and never shown again')
    .addOption(typeOption('what it is').makeOptionMandatory())
    .option(
      '--connection-string <string>',
      'e.g. postgres://user:pw@host:5432/db, s3://KEY:SECRET@bucket/?region=..., /path/in/data/root.csv (asked for without echo when left out on a terminal)',
    )
    .option('--name <name>', 'how steps refer to it (default: the driver and host)')
    .action(
      async (
        options: { type: string; connectionString?: string; name?: string },
        command: Command,
      ) => {
        const { session, printer } = scopeOf(ctx, command);
        const connectionString = options.connectionString ?? (await askConnectionString(ctx));
        const created = await session.api.post<DataSource>(DATASOURCES, {
          type: options.type,
          connectionString,
          ...(options.name !== undefined && { name: options.name }),
        });
        if (printer.json) return printer.document(created);
        printer.line(
          `Created data source ${created.id} '${created.name}' (${created.driver}: ${created.connectionString}).`,
        );
      },
    );

  datasources
    .command('delete')
    .description('delete a data source')
    .argument('<datasource>', 'its id (ds_...) or name')
    .action(async (idOrName: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const source = await resolveDataSource(session.api, idOrName);
      await session.api.delete(`${DATASOURCES}/${encodeURIComponent(source.id)}`);
      if (printer.json) return printer.document({ deleted: source.id });
      printer.line(`Deleted data source ${source.id} '${source.name}'.`);
    });

  datasources
    .command('test')
    .description('test a saved data source, or a connection string without saving it')
    .argument('[datasource]', 'a saved data source: its id (ds_...) or name')
    .option('--connection-string <string>', 'test this string instead of a saved data source')
    .addOption(typeOption('with --connection-string: what it is (default: what the string says)'))
    .addHelpText(
      'after',
      '\nExit code: 0 when the connection works, 1 when a stage failed (the table says which).',
    )
    .action(
      async (
        idOrName: string | undefined,
        options: { connectionString?: string; type?: string },
        command: Command,
      ) => {
        const { session, printer } = scopeOf(ctx, command);
        if ((idOrName === undefined) === (options.connectionString === undefined)) {
          throw new UsageError('give either a saved data source or --connection-string');
        }
        const result =
          idOrName !== undefined
            ? await session.api.post<ConnectionTestResult>(
                `${DATASOURCES}/${encodeURIComponent((await resolveDataSource(session.api, idOrName)).id)}/test`,
              )
            : await session.api.post<ConnectionTestResult>(`${DATASOURCES}/test`, {
                connectionString: options.connectionString,
                ...(options.type !== undefined && { type: options.type }),
              });
        if (printer.json) printer.document(result);
        else printTest(printer, result);
        if (!result.ok) throw new CommandExit(EXIT.failure);
      },
    );
}

async function askConnectionString(ctx: CliContext): Promise<string> {
  if (!canPrompt(ctx)) throw new UsageError('give the connection string with --connection-string');
  const value = (await promptSecret(ctx, 'Connection string: ')).trim();
  if (!value) throw new UsageError('no connection string given');
  return value;
}

async function resolveDataSource(api: ApiClient, idOrName: string): Promise<DataSource> {
  if (idOrName.startsWith('ds_'))
    return api.get<DataSource>(`${DATASOURCES}/${encodeURIComponent(idOrName)}`);
  const found: DataSource[] = [];
  for await (const page of api.pages<DataSource>(DATASOURCES, { limit: MAX_PAGE_SIZE })) {
    found.push(...page.filter((d) => d.name === idOrName));
  }
  if (found.length === 1 && found[0]) return found[0];
  if (found.length === 0)
    throw new UsageError(
      `no data source is named '${idOrName}' (see \`cloudflow datasources list\`)`,
    );
  throw new UsageError(
    `${found.length} data sources are named '${idOrName}': give one of their ids (${found.map((d) => d.id).join(', ')})`,
  );
}

function printFields(printer: Printer, source: DataSource): void {
  printer.fields([
    ['ID', source.id],
    ['Name', source.name],
    ['Type', source.type],
    ['Driver', source.driver],
    ['Connection', source.connectionString],
    ['Created', shortTime(source.createdAt)],
    ['Updated', shortTime(source.updatedAt)],
  ]);
}

function printTest(printer: Printer, result: ConnectionTestResult): void {
  printer.table(
    [
      { header: 'STAGE', value: (s: ConnectionTestResult['stages'][number]) => s.stage },
      { header: 'RESULT', value: (s) => (s.ok ? 'ok' : 'FAILED') },
      { header: 'TIME', value: (s) => `${s.durationMs} ms`, align: 'right' },
      { header: 'MESSAGE', value: (s) => s.message },
    ],
    result.stages,
    'No stage ran.',
  );
  printer.line(`${result.ok ? 'OK' : 'FAILED'} (${result.driver}): ${result.message}`);
}
