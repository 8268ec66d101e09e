import type { Principal } from '@cloudflow/contracts';

/**
 * Remembers verified credentials for a short time so that most requests cost
 * no round trip to auth. The TTL bounds how long a revoked key keeps working
 * on this replica. Only successes are cached.
 */
export class CredentialCache {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(keyHash: string): Principal | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return entry.principal;
  }

  set(keyHash: string, principal: Principal): void {
    if (this.ttlMs <= 0) return;
    if (!this.entries.has(keyHash) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(keyHash, { principal, expiresAt: this.now() + this.ttlMs });
  }
}
