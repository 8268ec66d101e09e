import { Injectable } from '@nestjs/common';
import { context, type Context } from '@opentelemetry/api';
import { Topics, type TaskMessage } from '@cloudflow/contracts';
import {
  attemptId,
  JobLogs,
  TaskLedger,
  type JobLogger,
  type TaskDocument,
} from '@cloudflow/job-store';
import { TopicPublisher } from '@cloudflow/messaging';
import { endSpan, injectTraceContext, startSpan } from '@cloudflow/observability';
import { recordTaskRetried, type RetryCause } from '@cloudflow/runtime';

/**
 * Puts task attempts on the task topic. Recording the attempt first (a unique
 * insert) makes "dispatch attempt N" happen once across scheduler replicas;
 * tasks go round-robin over the partitions so every worker gets a share.
 * Each message is sent in a `task dispatch` producer span of its own under
 * `parent` (the job's trace), which the worker's span for the task continues.
 */
@Injectable()
export class TaskDispatcher {
  private partitions?: Promise<number>;
  private readonly log: JobLogger;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly publisher: TopicPublisher,
    jobLogs: JobLogs,
  ) {
    this.log = jobLogs.for('job-scheduler', TaskDispatcher.name);
  }

  /** Dispatches the given attempts; returns how many this replica dispatched. */
  async dispatch(
    items: { task: TaskDocument; attempt: number; cause?: RetryCause }[],
    now = new Date(),
    parent: Context = context.active(),
  ): Promise<number> {
    const won: { task: TaskDocument; attempt: number }[] = [];
    for (const item of items) {
      // Attempt N-1 must be unable to commit before attempt N exists.
      if (item.attempt > 1 && !(await this.ledger.fence(item.task, item.attempt - 1, now))) {
        continue;
      }
      const recorded = await this.ledger.dispatch({
        _id: attemptId(item.task._id, item.attempt),
        workspaceId: item.task.workspaceId,
        jobId: item.task.jobId,
        taskId: item.task._id,
        attempt: item.attempt,
        dispatchedAt: now,
      });
      if (!recorded) continue;
      won.push(item);
      // Counted by the replica that recorded the attempt: once per retry across replicas.
      if (item.attempt > 1) recordTaskRetried(item.cause ?? 'failure');
      this.logDispatched(item);
    }
    await this.publish(won, parent, false);
    return won.length;
  }

  /** Logs a dispatch, once: by the replica that recorded the attempt. */
  private logDispatched(item: { task: TaskDocument; attempt: number; cause?: RetryCause }): void {
    const { task, attempt } = item;
    const context = { workspaceId: task.workspaceId, jobId: task.jobId, taskId: task._id, attempt };
    if (attempt === 1) {
      this.log.info(context, task.kind === 'finalize' ? 'assembly dispatched' : 'task dispatched');
      return;
    }
    const reason =
      item.cause === 'lease-expired'
        ? `the lease of attempt ${attempt - 1} expired: its worker stopped renewing it`
        : `attempt ${attempt - 1} failed`;
    this.log.warn(context, 'task re-dispatched', { reason });
  }

  /** Publishes attempts again (nobody claimed them); duplicates are harmless to workers. */
  async resend(
    items: { task: TaskDocument; attempt: number }[],
    now = new Date(),
    parent: Context = context.active(),
  ): Promise<void> {
    for (const item of items) {
      await this.ledger.touchAttempt(attemptId(item.task._id, item.attempt), now);
    }
    await this.publish(items, parent, true);
  }

  private async publish(
    items: { task: TaskDocument; attempt: number }[],
    parent: Context,
    resent: boolean,
  ): Promise<void> {
    if (items.length === 0) return;
    if (!this.partitions) {
      const lookup = this.publisher.partitionsOf(Topics.tasks);
      lookup.catch(() => {
        if (this.partitions === lookup) this.partitions = undefined;
      });
      this.partitions = lookup;
    }
    const partitions = await this.partitions;
    const sends = items.map(({ task, attempt }) => {
      const dispatch = startSpan(
        'task dispatch',
        'producer',
        {
          'messaging.destination.name': Topics.tasks,
          'cloudflow.job_id': task.jobId,
          'cloudflow.task_id': task._id,
          'cloudflow.task_kind': task.kind,
          'cloudflow.attempt': attempt,
          ...(resent && { 'cloudflow.resent': true }),
        },
        parent,
      );
      const message: TaskMessage = {
        v: 1,
        workspaceId: task.workspaceId,
        jobId: task.jobId,
        taskId: task._id,
        seq: task.seq,
        kind: task.kind,
        attempt,
        ...(task.range && { range: task.range }),
        ...(task.keys && { keys: task.keys }),
      };
      const traceHeaders: Record<string, string> = {};
      injectTraceContext(traceHeaders, dispatch.context);
      const partition = (offsetOf(task.jobId) + task.seq) % partitions;
      return {
        span: dispatch.span,
        message: { key: task._id, value: message, partition, traceHeaders },
      };
    });
    try {
      await this.publisher.publish(
        Topics.tasks,
        sends.map((send) => send.message),
      );
    } catch (error) {
      for (const { span } of sends) endSpan(span, error);
      throw error;
    }
    for (const { span } of sends) endSpan(span);
  }
}

/** Where a job's round-robin starts, so single-task jobs do not all land on partition 0. */
function offsetOf(jobId: string): number {
  let hash = 0;
  for (let i = 0; i < jobId.length; i++) hash = (hash * 31 + jobId.charCodeAt(i)) >>> 0;
  return hash;
}
