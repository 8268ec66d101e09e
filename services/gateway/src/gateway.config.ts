import { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const GatewayConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape).extend({
  PORT: env.port(8080),
  /** How long the gateway waits for a service before answering 503. */
  RPC_TIMEOUT_MS: env.positiveInt(5_000),
  /** Largest accepted request body. */
  MAX_BODY_BYTES: env.positiveInt(1024 * 1024),
  /** How long a verified credential is trusted without asking auth again (revocation delay). */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(5_000).default(2_000),
  /**
   * The proxies in front of the gateway (the Ingress) whose `X-Forwarded-For`
   * names the client, so per-IP limits count clients, not the proxy: empty
   * (trust none), `true` (trust all: only when nothing else can reach the
   * gateway), a hop count, or a comma-separated list of addresses and CIDRs.
   */
  TRUST_PROXY: z
    .string()
    .default('')
    .transform((value): boolean | number | string[] => {
      const trimmed = value.trim();
      if (trimmed === '' || trimmed === 'false') return false;
      if (trimmed === 'true') return true;
      if (/^\d+$/.test(trimmed)) return Number(trimmed);
      return trimmed
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
    }),
  /** Where the auth service serves the OAuth sign-in pages and token endpoint. */
  AUTH_HTTP_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8081'),
  /** Rate limits (ADR 0008): one fixed window, shared by every gateway replica. */
  RATE_LIMIT_WINDOW_SECONDS: env.positiveInt(60),
  /** Requests per window for each API key, user or OAuth client. */
  RATE_LIMIT_REQUESTS: env.positiveInt(600),
  /** Requests per window to costly routes (job submission, re-runs, connection tests). */
  RATE_LIMIT_COSTLY_REQUESTS: env.positiveInt(30),
  /** Requests per window per client IP without a valid credential (sign-in, token, bad keys). */
  RATE_LIMIT_ANONYMOUS_REQUESTS: env.positiveInt(120),
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
