import { setTimeout as sleep } from 'node:timers/promises';
import { JobSchema, isTerminalStatus, type Job } from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { ApiError, EXIT, NetworkError } from '../cli-errors';
import { ApiClient, expectShape } from '../http/api-client';
import type { Printer } from '../output/printer';
import { PlainProgress, TerminalProgress, type ProgressDisplay } from './progress-display';
import { formatCount, formatElapsed, ProgressTracker } from './progress-format';

export interface WatchOptions {
  intervalMs: number;
}

/** Polls in a row that may fail (a restarting gateway, a blip) before the watch gives up. */
const MAX_CONSECUTIVE_FAILURES = 5;

/**
 * Follows a job until it finishes: a live bar on a terminal, plain lines
 * otherwise, only the final job with --json. Exit code 0 when it SUCCEEDED,
 * 1 when it FAILED or was CANCELLED (its error on stderr), 130 on Ctrl-C —
 * which stops the watching, never the job.
 */
export async function watchJob(
  ctx: CliContext,
  api: ApiClient,
  printer: Printer,
  jobId: string,
  options: WatchOptions,
): Promise<number> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  ctx.signals.on('SIGINT', interrupt);
  ctx.signals.on('SIGTERM', interrupt);
  const display: ProgressDisplay | undefined = printer.json
    ? undefined
    : printer.isTerminal
      ? new TerminalProgress(ctx.stdout)
      : new PlainProgress(ctx.stdout, ctx.now);
  const tracker = new ProgressTracker();
  let last: Job | undefined;
  let failures = 0;
  try {
    while (!controller.signal.aborted) {
      try {
        const answer = await api.get<unknown>(
          ApiClient.path`/api/v1/jobs/${jobId}/status`,
          undefined,
          {
            signal: controller.signal,
          },
        );
        last = expectShape(JobSchema, answer, 'job status');
        failures = 0;
      } catch (error) {
        if (controller.signal.aborted) break;
        if (!isTransient(error) || ++failures >= MAX_CONSECUTIVE_FAILURES) throw error;
        const wait = error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
        await pause(Math.max(wait, options.intervalMs), controller.signal);
        continue;
      }
      display?.update(tracker.observe(last, ctx.now()));
      if (isTerminalStatus(last.status)) {
        display?.stop();
        return reportOutcome(printer, last);
      }
      await pause(options.intervalMs, controller.signal);
    }
  } finally {
    ctx.signals.off('SIGINT', interrupt);
    ctx.signals.off('SIGTERM', interrupt);
    display?.stop();
  }
  const status = last?.status ?? 'running';
  printer.note(
    `stopped watching: job ${jobId} is still ${status} on the server ` +
      `(\`cloudflow jobs watch ${jobId}\` to watch again, \`cloudflow jobs cancel ${jobId}\` to stop it)`,
  );
  return EXIT.interrupted;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

function isTransient(error: unknown): boolean {
  return (
    error instanceof NetworkError ||
    (error instanceof ApiError && (error.status >= 500 || error.status === 429))
  );
}

/** The final word on a finished job; answers the exit code. */
export function reportOutcome(printer: Printer, job: Job): number {
  const code = job.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failure;
  if (printer.json) {
    printer.document(job);
    if (job.error) printer.note(`error: ${job.error.message}`);
    return code;
  }
  const { rowsRead, rowsWritten, rowsRejected } = job.progress;
  const took =
    job.startedAt && job.finishedAt
      ? ` in ${formatElapsed((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000)}`
      : '';
  printer.line(
    `${job.status} job ${job.jobId}${took}: ${formatCount(rowsRead)} rows read, ` +
      `${formatCount(rowsWritten)} written, ${formatCount(rowsRejected)} rejected`,
  );
  if (job.status === 'SUCCEEDED') {
    if (job.output.kind === 'file') printer.line(`output: ${job.output.path} (in the data root)`);
    else if (job.output.kind === 'result-store' || job.output.kind === 'collection') {
      printer.line(`results: cloudflow results ${job.jobId}`);
    }
  } else if (job.error) {
    printer.note(`error: ${job.error.message}`);
    if (job.error.details) printer.note(`  ${job.error.details}`);
  } else {
    printer.note(`error: the job was ${job.status.toLowerCase()}`);
  }
  return code;
}
