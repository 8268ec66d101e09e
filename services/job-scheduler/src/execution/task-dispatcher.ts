import { Injectable } from '@nestjs/common';
import { Topics, type TaskMessage } from '@cloudflow/contracts';
import { attemptId, TaskLedger, type TaskDocument } from '@cloudflow/job-store';
import { TopicPublisher } from '@cloudflow/messaging';

/**
 * Puts task attempts on the task topic. Recording the attempt first (a unique
 * insert) makes "dispatch attempt N" happen once across scheduler replicas;
 * tasks go round-robin over the partitions so every worker gets a share.
 */
@Injectable()
export class TaskDispatcher {
  private partitions?: Promise<number>;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly publisher: TopicPublisher,
  ) {}

  /** Dispatches the given attempts; returns how many this replica dispatched. */
  async dispatch(
    items: { task: TaskDocument; attempt: number }[],
    now = new Date(),
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
      if (recorded) won.push(item);
    }
    await this.publish(won);
    return won.length;
  }

  /** Publishes attempts again (nobody claimed them); duplicates are harmless to workers. */
  async resend(items: { task: TaskDocument; attempt: number }[], now = new Date()): Promise<void> {
    for (const item of items) {
      await this.ledger.touchAttempt(attemptId(item.task._id, item.attempt), now);
    }
    await this.publish(items);
  }

  private async publish(items: { task: TaskDocument; attempt: number }[]): Promise<void> {
    if (items.length === 0) return;
    if (!this.partitions) {
      const lookup = this.publisher.partitionsOf(Topics.tasks);
      lookup.catch(() => {
        if (this.partitions === lookup) this.partitions = undefined;
      });
      this.partitions = lookup;
    }
    const partitions = await this.partitions;
    await this.publisher.publish(
      Topics.tasks,
      items.map(({ task, attempt }) => {
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
        const partition = (offsetOf(task.jobId) + task.seq) % partitions;
        return { key: task._id, value: message, partition };
      }),
    );
  }
}

/** Where a job's round-robin starts, so single-task jobs do not all land on partition 0. */
function offsetOf(jobId: string): number {
  let hash = 0;
  for (let i = 0; i < jobId.length; i++) hash = (hash * 31 + jobId.charCodeAt(i)) >>> 0;
  return hash;
}
