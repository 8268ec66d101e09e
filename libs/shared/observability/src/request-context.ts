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

const serviceStorage = new AsyncLocalStorage<{ service: string }>();

/**
 * Runs `fn` as the service `service`: in standalone mode six services share
 * one process, and whatever a service starts inside `fn` (its timers, its
 * consumers, its HTTP server) keeps saying whose it is — log lines carry it.
 */
export function runAsService<T>(service: string, fn: () => T): T {
  return serviceStorage.run({ service }, fn);
}

/** The service the current code runs for, when several share the process. */
export function currentService(): string | undefined {
  return serviceStorage.getStore()?.service;
}

/**
 * Captures the current async context (the service, no request): what a
 * message handed over in-process then runs in, as it would in a process of
 * its own, instead of in the context of whoever sent it.
 */
export function captureContext(): <R>(fn: () => R) => R {
  return AsyncLocalStorage.snapshot();
}
