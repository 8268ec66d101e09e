import type { Job, JobProgress } from '@cloudflow/contracts';
import type { JobDocument, JobLedgerSnapshot } from '@cloudflow/job-store';
import { attemptsOf, progressOf } from '../execution/job-analysis';

/** The API's view of a job; progress comes from the ledger while it runs. */
export function toJob(job: JobDocument, ledger?: JobLedgerSnapshot): Job {
  const figures =
    job.final ??
    (ledger
      ? { progress: progressOf(job, ledger), attempts: attemptsOf(ledger) }
      : { progress: emptyProgress(job), attempts: { total: 0, retries: 0 } });
  return {
    jobId: job._id,
    status: job.status,
    pipelineId: job.pipelineId,
    pipelineVersion: job.pipelineVersion,
    input: { path: job.input.path, format: job.input.format },
    output: job.output,
    progress: figures.progress,
    attempts: figures.attempts,
    error: job.error,
    ...(job.rerunOf !== undefined && { rerunOf: job.rerunOf }),
    timeoutSeconds: job.timeoutSeconds,
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}

function iso(date: Date | null): string | null {
  return date === null ? null : new Date(date).toISOString();
}

function emptyProgress(job: JobDocument): JobProgress {
  return {
    tasksTotal: job.tasksTotal,
    tasksDone: 0,
    rowsRead: 0,
    rowsWritten: 0,
    rowsRejected: 0,
    bytesRead: 0,
    bytesTotal: Math.max(0, job.input.bytesTotal - job.input.dataStart),
  };
}
