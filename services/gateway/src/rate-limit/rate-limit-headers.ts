/** Where a caller stands against one quota policy after this request. */
export interface QuotaState {
  /** The policy's name, as the headers show it: `default`, `costly`, `anonymous`. */
  policy: string;
  /** Requests allowed per window. */
  quota: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/**
 * The `RateLimit-Policy` and `RateLimit` fields of the IETF draft
 * (draft-ietf-httpapi-ratelimit-headers), as structured-field lists:
 * `RateLimit-Policy: "default";q=600;w=60` and `RateLimit: "default";r=599;t=42`.
 */
export function rateLimitHeaders(states: readonly QuotaState[]): {
  'RateLimit-Policy': string;
  RateLimit: string;
} {
  return {
    'RateLimit-Policy': states
      .map((s) => `"${s.policy}";q=${s.quota};w=${s.windowSeconds}`)
      .join(', '),
    RateLimit: states
      .map((s) => `"${s.policy}";r=${Math.max(0, s.remaining)};t=${s.resetSeconds}`)
      .join(', '),
  };
}
