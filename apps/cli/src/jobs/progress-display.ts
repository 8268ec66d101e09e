import { SingleBar } from 'cli-progress';
import type { OutputStream } from '../cli-context';
import { formatPlainLine, formatProgressLine, type ProgressSnapshot } from './progress-format';

/** Shows a watched job's progress: redrawn in place, or as a log. */
export interface ProgressDisplay {
  update(progress: ProgressSnapshot): void;
  /** Leaves the last state on screen and ends the line. */
  stop(): void;
}

/**
 * A bar redrawn in place on a terminal (cli-progress: cursor to column 1,
 * the line, erase to the end of the line; cut to the terminal's width; the
 * cursor hidden meanwhile). The line is built here, so the terminal and
 * plain forms read the same.
 */
export class TerminalProgress implements ProgressDisplay {
  private readonly bar: SingleBar;
  private started = false;

  constructor(stream: OutputStream) {
    this.bar = new SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: (_options: unknown, _params: unknown, payload: { progress?: ProgressSnapshot }) =>
        payload.progress ? formatProgressLine(payload.progress) : '',
      hideCursor: true,
      linewrap: false,
      clearOnComplete: false,
      // Ctrl-C is the watcher's to handle: it stops the bar, then says the job runs on.
      gracefulExit: false,
      fps: 10,
    });
  }

  update(progress: ProgressSnapshot): void {
    const value = Math.round((progress.fraction ?? 0) * 1000);
    if (!this.started) {
      this.bar.start(1000, value, { progress });
      this.started = true;
    } else {
      this.bar.update(value, { progress });
    }
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

/**
 * For logs and pipes: a line when something changed, and at least one every
 * `heartbeatMs` so that a long quiet stretch still shows the watch is alive.
 */
export class PlainProgress implements ProgressDisplay {
  private last = '';
  private lastAt = 0;

  constructor(
    private readonly stream: OutputStream,
    private readonly now: () => number,
    private readonly heartbeatMs = 30_000,
  ) {}

  update(progress: ProgressSnapshot): void {
    const line = formatPlainLine(progress);
    // Compare without the pace and ETA, which change on every poll.
    const key = `${progress.status} ${progress.rowsRead} ${progress.tasksDone} ${progress.fraction}`;
    if (key === this.last && this.now() - this.lastAt < this.heartbeatMs) return;
    this.last = key;
    this.lastAt = this.now();
    this.stream.write(`${line}\n`);
  }

  stop(): void {
    // Each line is already complete.
  }
}
