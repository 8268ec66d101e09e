import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Runs `fn` as part of the request `requestId`: everything it starts, however
 * deep, can ask `currentRequestId()` — so the id that names an HTTP answer also
 * travels with every Kafka call made for it, without being passed by hand.
 */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
