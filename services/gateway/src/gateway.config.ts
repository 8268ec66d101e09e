import { z } from 'zod';
import { BaseServiceEnvSchema, env } from '@cloudflow/config';

export const GatewayConfigSchema = BaseServiceEnvSchema.extend({
  PORT: env.port(8080),
  /** How long the gateway waits for a service before answering 503. */
  RPC_TIMEOUT_MS: env.positiveInt(5_000),
  /** Largest accepted request body. */
  MAX_BODY_BYTES: env.positiveInt(1024 * 1024),
  /** How long a verified API key is trusted without asking auth again (revocation delay). */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(5_000).default(2_000),
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
