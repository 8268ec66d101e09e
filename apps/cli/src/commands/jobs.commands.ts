import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import {
  JOB_STATUSES,
  JobSchema,
  MAX_PAGE_SIZE,
  type Job,
  type JobOutput,
} from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { CommandExit } from '../cli-errors';
import { ApiClient, expectShape } from '../http/api-client';
import { watchJob } from '../jobs/job-watcher';
import { formatCount, formatElapsed, formatPercent, fractionOf } from '../jobs/progress-format';
import type { Printer } from '../output/printer';
import { collect, positiveInt, scopeOf, seconds, shortTime } from './command-kit';
import { resolvePipeline } from './pipelines.commands';

const JOBS = '/api/v1/jobs';

interface SubmitOptions {
  pipeline: string;
  input?: string;
  timeout?: number;
  idempotencyKey?: string;
  watch?: boolean;
  interval?: number;
}

const intervalOption = () =>
  new Option(
    '--interval <seconds>',
    'how often to poll (default 0.5 on a terminal, else 2)',
  ).argParser(seconds);

export function registerJobCommands(program: Command, ctx: CliContext): void {
  const jobs = program.command('jobs').description('submit, watch, list and cancel jobs');

  jobs
    .command('submit')
    .description('run a pipeline: submit a job, and with --watch follow it to the end')
    .requiredOption('--pipeline <pipeline>', 'the pipeline: its id (pl_...) or name')
    .option(
      '--input <path>',
      "the input, overriding the pipeline's source: a path in the data root or s3://bucket/key",
    )
    .option('--timeout <seconds>', 'fail the job when it runs longer', positiveInt(7 * 24 * 3600))
    .option('--idempotency-key <key>', 'submitting again with the same key returns the first job')
    .option('-w, --watch', 'follow the job with a progress bar; exit 0 only if it SUCCEEDED')
    .addOption(intervalOption())
    .addHelpText(
      'after',
      `
Where the rows go is the pipeline's sink step (a file, db://<name>, a data
source), or CloudFlow's result store when it has none: the API takes no
per-job output. Read stored rows with \`cloudflow results JOB_ID\`.

Examples:
  cloudflow jobs submit --pipeline people-upper --input /fake/data.csv --watch
  cloudflow jobs submit --pipeline pl_... --json`,
    )
    .action(async (options: SubmitOptions, command: Command) => {
      const scope = scopeOf(ctx, command);
      const { session, printer } = scope;
      const pipelineId = options.pipeline.startsWith('pl_')
        ? options.pipeline
        : (await resolvePipeline(session.api, options.pipeline)).id;
      const job = await session.api.post<Job>(
        JOBS,
        {
          pipelineId,
          ...(options.input !== undefined && { input: options.input }),
          ...(options.timeout !== undefined && { timeoutSeconds: options.timeout }),
        },
        // A retried submission (after a lost answer) must not start a second job.
        { headers: { 'Idempotency-Key': options.idempotencyKey ?? randomUUID() } },
      );
      if (!options.watch) {
        if (printer.json) return printer.document(job);
        printer.line(
          `Submitted job ${job.jobId} (pipeline ${job.pipelineId} version ${job.pipelineVersion}, input ${job.input.path}): ${job.status}.`,
        );
        printer.line(`Follow it with: cloudflow jobs watch ${job.jobId}`);
        return;
      }
      if (!printer.json)
        printer.line(
          `Submitted job ${job.jobId} (pipeline ${job.pipelineId} version ${job.pipelineVersion}).`,
        );
      await watchAndExit(ctx, session.api, printer, job.jobId, options.interval);
    });

  jobs
    .command('watch')
    .description('follow a job with a progress bar until it finishes')
    .argument('<job>', 'the job id (job_...)')
    .addOption(intervalOption())
    .addHelpText(
      'after',
      `
Exit code: 0 when the job SUCCEEDED, 1 when it FAILED or was CANCELLED (its
error on stderr), 130 on Ctrl-C (the job keeps running).`,
    )
    .action(async (jobId: string, options: { interval?: number }, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      await watchAndExit(ctx, session.api, printer, jobId, options.interval);
    });

  jobs
    .command('list')
    .description('list jobs, newest first')
    .option('--pipeline <pipeline>', 'only the jobs of this pipeline (id or name)')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
    .option('--limit <n>', 'show at most this many', positiveInt(), 20)
    .action(
      async (options: { pipeline?: string; status?: string; limit: number }, command: Command) => {
        const { session, printer } = scopeOf(ctx, command);
        const pipelineId =
          options.pipeline === undefined || options.pipeline.startsWith('pl_')
            ? options.pipeline
            : (await resolvePipeline(session.api, options.pipeline)).id;
        const items = await collect(
          session.api.pages<Job>(JOBS, {
            limit: Math.min(options.limit, MAX_PAGE_SIZE),
            pipelineId,
            status: options.status,
          }),
          options.limit,
        );
        if (printer.json) return printer.document(items);
        printer.table(
          [
            { header: 'JOB', value: (j: Job) => j.jobId, keep: true },
            { header: 'STATUS', value: (j) => j.status },
            { header: 'PIPELINE', value: (j) => `${j.pipelineId} v${j.pipelineVersion}` },
            { header: 'ROWS', value: (j) => formatCount(j.progress.rowsWritten), align: 'right' },
            { header: 'CREATED', value: (j) => shortTime(j.createdAt) },
            { header: 'TOOK', value: (j) => took(j) },
          ],
          items,
          'No jobs.',
        );
      },
    );

  jobs
    .command('status')
    .description("show a job's status and progress")
    .argument('<job>', 'the job id (job_...)')
    .action(async (jobId: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const job = expectShape(
        JobSchema,
        await session.api.get<unknown>(ApiClient.path`/api/v1/jobs/${jobId}/status`),
        'job status',
      );
      if (printer.json) return printer.document(job);
      printJob(printer, job);
    });

  jobs
    .command('cancel')
    .description('cancel a job that has not finished')
    .argument('<job>', 'the job id (job_...)')
    .action(async (jobId: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const job = await session.api.post<Job>(ApiClient.path`/api/v1/jobs/${jobId}/cancel`);
      if (printer.json) return printer.document(job);
      printer.line(`Cancelling job ${job.jobId}: ${job.status}.`);
    });
}

async function watchAndExit(
  ctx: CliContext,
  api: ApiClient,
  printer: Printer,
  jobId: string,
  intervalSeconds: number | undefined,
): Promise<void> {
  const intervalMs = (intervalSeconds ?? (printer.isTerminal ? 0.5 : 2)) * 1000;
  const code = await watchJob(ctx, api, printer, jobId, { intervalMs });
  if (code !== 0) throw new CommandExit(code);
}

function took(job: Job): string {
  if (!job.startedAt) return '';
  const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
  return formatElapsed((end - Date.parse(job.startedAt)) / 1000);
}

export function describeOutput(output: JobOutput): string {
  switch (output.kind) {
    case 'result-store':
      return 'result store (cloudflow results)';
    case 'collection':
      return output.target;
    case 'file':
      return `${output.path} (${output.format})`;
    case 'table':
      return `${output.driver} ${output.table} (data source ${output.dataSourceId})`;
    case 'object':
      return `s3://${output.bucket}/${output.key} (data source ${output.dataSourceId})`;
  }
}

function printJob(printer: Printer, job: Job): void {
  const p = job.progress;
  printer.fields([
    ['Job', job.jobId],
    ['Status', job.status],
    ['Pipeline', `${job.pipelineId} version ${job.pipelineVersion}`],
    ['Input', `${job.input.path} (${job.input.format})`],
    ['Output', describeOutput(job.output)],
    [
      'Progress',
      `${formatPercent(fractionOf(job)).trim()}, tasks ${p.tasksDone}/${p.tasksTotal ?? '?'}`,
    ],
    [
      'Rows',
      `${formatCount(p.rowsRead)} read, ${formatCount(p.rowsWritten)} written, ${formatCount(p.rowsRejected)} rejected`,
    ],
    ['Attempts', `${job.attempts.total} (${job.attempts.retries} retries)`],
    ['Created', shortTime(job.createdAt)],
    ['Started', shortTime(job.startedAt)],
    ['Finished', shortTime(job.finishedAt)],
    ...(job.error ? ([['Error', job.error.message]] as [string, string][]) : []),
  ]);
}
