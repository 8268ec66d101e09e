import { Option, type Command } from 'commander';
import { JobResultsSchema, MAX_PAGE_SIZE, type JobResults } from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { ApiClient, expectShape } from '../http/api-client';
import { csvLine } from '../output/csv';
import type { Printer } from '../output/printer';
import { formatCount } from '../jobs/progress-format';
import { positiveInt, scopeOf } from './command-kit';
import { describeOutput } from './jobs.commands';

type Row = Record<string, unknown>;
const FORMATS = ['table', 'csv', 'json', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

export function registerResultsCommand(program: Command, ctx: CliContext): void {
  program
    .command('results')
    .description("print a finished job's rows: a table, CSV or JSON")
    .argument('<job>', 'the job id (job_...)')
    .addOption(
      new Option(
        '--format <format>',
        'table (what fits the screen), csv, json (an array) or jsonl (a row per line)',
      )
        .choices(FORMATS)
        .default('table'),
    )
    .option('--limit <n>', 'print at most this many rows', positiveInt())
    .addHelpText(
      'after',
      `
csv, json and jsonl read every page of rows and print each as it arrives, so
any number of rows can be piped on; --json is --format json. CSV columns are
those of the first page of rows. A job whose sink is a file keeps no rows here:
read the file.

Examples:
  cloudflow results job_... 
  cloudflow results job_... --format csv > upper.csv
  cloudflow results job_... --json | jq '.[0]'`,
    )
    .action(
      async (jobId: string, options: { format: Format; limit?: number }, command: Command) => {
        const { session, printer } = scopeOf(ctx, command);
        const format: Format = printer.json ? 'json' : options.format;
        const api = session.api;
        if (format === 'table') return printTable(api, printer, jobId, options.limit);
        await stream(api, printer, jobId, format, options.limit ?? Number.POSITIVE_INFINITY);
      },
    );
}

function resultsPath(jobId: string): string {
  return ApiClient.path`/api/v1/jobs/${jobId}/results`;
}

/** The pages of a job's rows, stopping once `limit` rows have come. */
async function* resultPages(
  api: ApiClient,
  jobId: string,
  limit: number,
): AsyncGenerator<JobResults> {
  let cursor: string | null = null;
  let seen = 0;
  do {
    const pageSize = Math.min(MAX_PAGE_SIZE, limit - seen);
    const page: JobResults = expectShape(
      JobResultsSchema,
      await api.get<unknown>(resultsPath(jobId), {
        limit: pageSize,
        ...(cursor !== null && { cursor }),
      }),
      'page of results',
    );
    seen += page.rows.length;
    yield page;
    cursor = page.nextCursor;
  } while (cursor && seen < limit);
}

/** The columns of some rows, in the order they first appear. */
function columnsOf(rows: Row[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row)) names.add(name);
  return [...names];
}

async function printTable(
  api: ApiClient,
  printer: Printer,
  jobId: string,
  limit: number | undefined,
): Promise<void> {
  // One page: as many rows as the screen shows under the header and the note.
  const fits = printer.isTerminal ? Math.max(5, printer.height - 4) : 20;
  const pageSize = Math.min(limit ?? fits, MAX_PAGE_SIZE);
  const page = expectShape(
    JobResultsSchema,
    await api.get<unknown>(resultsPath(jobId), { limit: pageSize }),
    'page of results',
  );
  if (page.rows.length === 0) {
    printer.line(
      page.output.kind === 'file' || page.output.kind === 'object' || page.output.kind === 'table'
        ? `Job ${jobId} wrote its rows to ${describeOutput(page.output)}; CloudFlow keeps no copy to show.`
        : `Job ${jobId} produced no rows.`,
    );
    return;
  }
  const names = columnsOf(page.rows);
  printer.table(
    names.map((name) => ({ header: name, value: (row: Row) => row[name] })),
    page.rows,
    '',
  );
  const total = page.counts.rowsWritten;
  if (page.nextCursor !== null) {
    const more = Math.max(total - page.rows.length, 0);
    printer.line(
      `(${formatCount(page.rows.length)} of ${formatCount(total)} rows; ${formatCount(more)} more: --format csv or --json prints them all)`,
    );
  }
}

async function stream(
  api: ApiClient,
  printer: Printer,
  jobId: string,
  format: Exclude<Format, 'table'>,
  limit: number,
): Promise<void> {
  let header: string[] | undefined;
  let count = 0;
  let dropped = new Set<string>();
  for await (const page of resultPages(api, jobId, limit)) {
    let out = '';
    for (const row of page.rows) {
      if (format === 'csv') {
        if (!header) {
          header = columnsOf(page.rows);
          out += csvLine(header);
        }
        for (const name of Object.keys(row)) if (!header.includes(name)) dropped.add(name);
        out += csvLine(header.map((name) => row[name]));
      } else if (format === 'json') {
        out += `${count === 0 ? '[\n' : ',\n'}${JSON.stringify(row)}`;
      } else {
        out += `${JSON.stringify(row)}\n`;
      }
      count++;
    }
    await printer.write(out);
  }
  if (format === 'json') await printer.write(count === 0 ? '[]\n' : '\n]\n');
  if (dropped.size > 0) {
    printer.note(
      `warning: columns not in the first page were left out: ${[...dropped].join(', ')}`,
    );
    dropped = new Set();
  }
}
