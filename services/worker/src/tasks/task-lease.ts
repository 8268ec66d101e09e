import { emptyTaskCounts, type TaskCounts } from '@cloudflow/contracts';

export interface LeaseChecks {
  /** Renews the claim with the latest progress. */
  renew(progress: TaskCounts): Promise<void>;
  /** Why the task must stop (cancelled, superseded by a newer attempt), or null to go on. */
  reasonToStop(): Promise<Error | string | null>;
  /** Keeps the Kafka group membership alive while the task runs. */
  keepConsumerAlive(): Promise<void>;
}

/**
 * Holds a task's lease while it runs: renews it every `intervalMs`, stops the
 * task (through `abort`) when it was cancelled or fenced, and treats a task
 * that made no progress for `stallTimeoutMs` as hung: it stops renewing, so
 * the scheduler hands the task to another worker.
 */
export class TaskLease {
  private timer?: NodeJS.Timeout;
  private lastProgressAt = Date.now();
  private lastRows = -1;
  private lastBytes = -1;
  private progress: TaskCounts = emptyTaskCounts();
  private ticking?: Promise<void>;

  constructor(
    private readonly checks: LeaseChecks,
    private readonly abort: AbortController,
    private readonly options: { intervalMs: number; stallTimeoutMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.options.intervalMs);
  }

  report(progress: Readonly<TaskCounts>): void {
    this.progress = { ...progress };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  private async tick(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const now = Date.now();
    if (this.progress.rowsRead !== this.lastRows || this.progress.bytesRead !== this.lastBytes) {
      this.lastRows = this.progress.rowsRead;
      this.lastBytes = this.progress.bytesRead;
      this.lastProgressAt = now;
    }
    if (now - this.lastProgressAt > this.options.stallTimeoutMs) {
      this.abort.abort(new Error(`no progress for ${this.options.stallTimeoutMs} ms; abandoned`));
      return;
    }
    try {
      await this.checks.keepConsumerAlive();
    } catch {
      // A rebalance is in progress; the lease, not the partition, guards the task.
    }
    try {
      const reason = await this.checks.reasonToStop();
      if (reason) {
        this.abort.abort(typeof reason === 'string' ? new Error(reason) : reason);
        return;
      }
      await this.checks.renew(this.progress);
    } catch {
      // The store is briefly unreachable; the next tick tries again, and a lease
      // that lapses meanwhile is handed to another worker, which is safe.
    }
  }
}
