import type { TaskCounts } from '@cloudflow/contracts';
import { TaskLease, type LeaseChecks } from './task-lease';

const INTERVAL = 1_000;
const STALL = 3_000;

function progress(rowsRead: number, bytesRead: number): TaskCounts {
  return { rowsRead, rowsWritten: rowsRead, rowsRejected: 0, bytesRead };
}

function setup(over: Partial<LeaseChecks> = {}) {
  const checks = {
    renew: jest.fn<Promise<void>, [TaskCounts]>(() => Promise.resolve()),
    reasonToStop: jest.fn<Promise<string | null>, []>(() => Promise.resolve(null)),
    keepConsumerAlive: jest.fn<Promise<void>, []>(() => Promise.resolve()),
  };
  Object.assign(checks, over);
  const abort = new AbortController();
  const lease = new TaskLease(checks, abort, { intervalMs: INTERVAL, stallTimeoutMs: STALL });
  return { checks, abort, lease };
}

const reasonOf = (abort: AbortController): string =>
  (abort.signal.reason as Error | undefined)?.message ?? '<not aborted>';

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('TaskLease', () => {
  it('renews nothing before the first interval', async () => {
    const { checks, lease } = setup();
    lease.start();
    await jest.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(checks.renew).not.toHaveBeenCalled();
    await lease.stop();
  });

  it('renews every interval with the latest reported progress', async () => {
    const { checks, lease, abort } = setup();
    lease.start();
    lease.report(progress(10, 100));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    lease.report(progress(20, 200));
    lease.report(progress(30, 300));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(checks.renew.mock.calls).toEqual([
      [progress(10, 100)],
      [progress(30, 300)],
      [progress(30, 300)],
    ]);
    expect(checks.keepConsumerAlive).toHaveBeenCalledTimes(3);
    expect(abort.signal.aborted).toBe(false);
    await lease.stop();
  });

  it('renews with zeros when nothing was reported yet', async () => {
    const { checks, lease } = setup();
    lease.start();
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(checks.renew.mock.calls).toEqual([[progress(0, 0)]]);
    await lease.stop();
  });

  it('renews with a copy: later changes to the reported object are not sent', async () => {
    const { checks, lease } = setup();
    lease.start();
    const counts = progress(1, 10);
    lease.report(counts);
    counts.rowsRead = 999;
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(checks.renew.mock.calls).toEqual([[progress(1, 10)]]);
    await lease.stop();
  });

  it('aborts with the reason reasonToStop gives, and stops renewing', async () => {
    const reasonToStop = jest
      .fn<Promise<string | null>, []>()
      .mockResolvedValueOnce(null)
      .mockResolvedValue('the job was cancelled');
    const { checks, lease, abort } = setup({ reasonToStop });
    lease.start();
    lease.report(progress(1, 10));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(abort.signal.aborted).toBe(false);
    lease.report(progress(2, 20));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(abort.signal.aborted).toBe(true);
    expect(reasonOf(abort)).toBe('the job was cancelled');
    expect(checks.renew).toHaveBeenCalledTimes(1);
    // Nothing more happens once aborted.
    lease.report(progress(3, 30));
    await jest.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(checks.renew).toHaveBeenCalledTimes(1);
    expect(reasonToStop).toHaveBeenCalledTimes(2);
    expect(checks.keepConsumerAlive).toHaveBeenCalledTimes(2);
    await lease.stop();
  });

  it('aborts as hung once progress stalled for longer than stallTimeoutMs', async () => {
    const { checks, lease, abort } = setup();
    lease.start();
    lease.report(progress(5, 50));
    // First tick (t=1000) sees the progress; it then stays at 5 rows / 50 bytes.
    await jest.advanceTimersByTimeAsync(INTERVAL);
    // t=2000..4000: stalled for 1000..3000 ms, not more than 3000 ms: still renewing.
    await jest.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(abort.signal.aborted).toBe(false);
    expect(checks.renew).toHaveBeenCalledTimes(4);
    // t=5000: stalled for 4000 ms > 3000 ms.
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(abort.signal.aborted).toBe(true);
    expect(reasonOf(abort)).toBe('no progress for 3000 ms; abandoned');
    // A hung task's lease is no longer renewed, so another worker gets the task.
    expect(checks.renew).toHaveBeenCalledTimes(4);
    await jest.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(checks.renew).toHaveBeenCalledTimes(4);
    await lease.stop();
  });

  it('does not abort while progress keeps moving, however long the task runs', async () => {
    const { checks, lease, abort } = setup();
    lease.start();
    for (let i = 1; i <= 30; i++) {
      // Rows and bytes alternate, so each counts as progress on its own.
      lease.report(i % 2 === 0 ? progress(i, i - 1) : progress(i - 1, i));
      await jest.advanceTimersByTimeAsync(INTERVAL);
    }
    expect(abort.signal.aborted).toBe(false);
    expect(checks.renew).toHaveBeenCalledTimes(30);
  });

  it('keeps renewing when keepConsumerAlive throws (a rebalance)', async () => {
    const keepConsumerAlive = jest.fn(() => Promise.reject(new Error('rebalance in progress')));
    const { checks, lease, abort } = setup({ keepConsumerAlive });
    lease.start();
    for (let i = 1; i <= 3; i++) {
      lease.report(progress(i, i));
      await jest.advanceTimersByTimeAsync(INTERVAL);
    }
    expect(keepConsumerAlive).toHaveBeenCalledTimes(3);
    expect(checks.reasonToStop).toHaveBeenCalledTimes(3);
    expect(checks.renew.mock.calls).toEqual([[progress(1, 1)], [progress(2, 2)], [progress(3, 3)]]);
    expect(abort.signal.aborted).toBe(false);
    await lease.stop();
  });

  it('tries again on the next tick when renew throws (store briefly unreachable)', async () => {
    const renew = jest
      .fn<Promise<void>, [TaskCounts]>()
      .mockRejectedValueOnce(new Error('connection closed'))
      .mockResolvedValue(undefined);
    const { lease, abort } = setup({ renew });
    lease.start();
    lease.report(progress(1, 1));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    lease.report(progress(2, 2));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(renew.mock.calls).toEqual([[progress(1, 1)], [progress(2, 2)]]);
    expect(abort.signal.aborted).toBe(false);
    await lease.stop();
  });

  it('keeps going when reasonToStop throws, without renewing on that tick', async () => {
    const reasonToStop = jest
      .fn<Promise<string | null>, []>()
      .mockRejectedValueOnce(new Error('server selection timed out'))
      .mockResolvedValue(null);
    const { checks, lease, abort } = setup({ reasonToStop });
    lease.start();
    lease.report(progress(1, 1));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(checks.renew).not.toHaveBeenCalled();
    lease.report(progress(2, 2));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(checks.renew.mock.calls).toEqual([[progress(2, 2)]]);
    expect(abort.signal.aborted).toBe(false);
    await lease.stop();
  });

  it('stops renewing after stop()', async () => {
    const { checks, lease } = setup();
    lease.start();
    lease.report(progress(1, 1));
    await jest.advanceTimersByTimeAsync(2 * INTERVAL);
    expect(checks.renew).toHaveBeenCalledTimes(2);
    await lease.stop();
    lease.report(progress(2, 2));
    await jest.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(checks.renew).toHaveBeenCalledTimes(2);
    expect(checks.reasonToStop).toHaveBeenCalledTimes(2);
  });

  it('stop() waits for a renewal in flight', async () => {
    let finishRenew!: () => void;
    const renew = jest.fn(
      () =>
        new Promise<void>((resolve) => {
          finishRenew = resolve;
        }),
    );
    const { lease } = setup({ renew });
    lease.start();
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(renew).toHaveBeenCalledTimes(1);
    let stopped = false;
    const stopping = lease.stop().then(() => {
      stopped = true;
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finishRenew();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('never runs two ticks at once: a slow renewal delays the next one', async () => {
    let finishRenew!: () => void;
    const renew = jest.fn(
      () =>
        new Promise<void>((resolve) => {
          finishRenew = resolve;
        }),
    );
    const { lease } = setup({ renew });
    lease.start();
    lease.report(progress(1, 1));
    await jest.advanceTimersByTimeAsync(INTERVAL);
    lease.report(progress(2, 2));
    await jest.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(renew).toHaveBeenCalledTimes(1);
    finishRenew();
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(renew.mock.calls).toEqual([[progress(1, 1)], [progress(2, 2)]]);
    finishRenew();
    await lease.stop();
  });

  it('does nothing more once the task was aborted from elsewhere (shutdown)', async () => {
    const { checks, lease, abort } = setup();
    lease.start();
    await jest.advanceTimersByTimeAsync(INTERVAL);
    abort.abort(new Error('worker shutting down'));
    await jest.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(checks.renew).toHaveBeenCalledTimes(1);
    expect(checks.reasonToStop).toHaveBeenCalledTimes(1);
    expect(reasonOf(abort)).toBe('worker shutting down');
    await lease.stop();
  });
});
