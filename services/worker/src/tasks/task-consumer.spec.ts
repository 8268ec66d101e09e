import type { TopicSubscriber } from '@cloudflow/messaging';
import { TaskConsumer, drainBudgetMs } from './task-consumer';
import type { TaskRunner } from './task-runner';
import type { WorkerConfig } from './worker-settings';

/** A subscription whose task in hand ends when `finish` is called. */
function fakeTransport() {
  let finish!: () => void;
  const inHand = new Promise<void>((resolve) => (finish = resolve));
  const stop = jest.fn(() => inHand);
  const subscriber = {
    subscribe: jest.fn(() => Promise.resolve({ stop })),
  } as unknown as TopicSubscriber;
  return { subscriber, stop, finish };
}

function consumerWith(drainMs: number, shutdownMs = 30_000) {
  const transport = fakeTransport();
  const abortCurrent = jest.fn();
  const runner = { abortCurrent } as unknown as TaskRunner;
  const config = {
    TASK_DRAIN_TIMEOUT_MS: drainMs,
    SHUTDOWN_TIMEOUT_MS: shutdownMs,
  } as WorkerConfig;
  return {
    consumer: new TaskConsumer(transport.subscriber, runner, config),
    abortCurrent,
    ...transport,
  };
}

describe('drainBudgetMs', () => {
  it('is the drain timeout while the shutdown budget leaves room to hand the task back', () => {
    expect(drainBudgetMs({ TASK_DRAIN_TIMEOUT_MS: 20_000, SHUTDOWN_TIMEOUT_MS: 30_000 })).toBe(
      20_000,
    );
  });

  it('never eats the reserve for handing back and leaving the group', () => {
    expect(drainBudgetMs({ TASK_DRAIN_TIMEOUT_MS: 20_000, SHUTDOWN_TIMEOUT_MS: 10_000 })).toBe(
      5_000,
    );
    expect(drainBudgetMs({ TASK_DRAIN_TIMEOUT_MS: 20_000, SHUTDOWN_TIMEOUT_MS: 3_000 })).toBe(0);
    expect(drainBudgetMs({ TASK_DRAIN_TIMEOUT_MS: 0, SHUTDOWN_TIMEOUT_MS: 30_000 })).toBe(0);
  });
});

describe('TaskConsumer on SIGTERM', () => {
  it('stops taking tasks and lets the running one finish within the drain budget', async () => {
    const { consumer, stop, finish, abortCurrent } = consumerWith(5_000);
    await consumer.onApplicationBootstrap();
    const draining = consumer.beforeApplicationShutdown();
    expect(stop).toHaveBeenCalledTimes(1);
    setTimeout(finish, 30);
    await draining;
    expect(abortCurrent).not.toHaveBeenCalled();
  });

  it('hands the running task back once the drain budget is spent', async () => {
    const { consumer, finish, abortCurrent } = consumerWith(50);
    // The task in hand ends only once it is aborted.
    abortCurrent.mockImplementation(() => finish());
    await consumer.onApplicationBootstrap();
    const started = Date.now();
    await consumer.beforeApplicationShutdown();
    expect(abortCurrent).toHaveBeenCalledWith('the worker is shutting down');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('hands back at once with no drain budget', async () => {
    const { consumer, finish, abortCurrent } = consumerWith(0);
    abortCurrent.mockImplementation(() => finish());
    await consumer.onApplicationBootstrap();
    await consumer.beforeApplicationShutdown();
    expect(abortCurrent).toHaveBeenCalledTimes(1);
  });

  it('drains once: a second shutdown call has nothing left to stop', async () => {
    const { consumer, stop, finish } = consumerWith(1_000);
    await consumer.onApplicationBootstrap();
    finish();
    await consumer.beforeApplicationShutdown();
    await consumer.beforeApplicationShutdown();
    expect(stop).toHaveBeenCalledTimes(1);
  });
});
