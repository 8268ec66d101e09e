/** Retries `probe` until it returns true or the time is up; answers how long it took. */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
