/** Stops infrastructure the global setup started itself (testcontainers); leaves the rest alone. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __cloudflowInfraStop?: () => Promise<void> }).__cloudflowInfraStop?.();
}
