import { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, SecretKeyEnvSchema, env } from '@cloudflow/config';

/** CLOUDFLOW_SECRET_KEY (and _PREVIOUS while rotating) seal the OAuth signing key at rest. */
export const AuthConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape)
  .extend(SecretKeyEnvSchema.shape)
  .extend({
    PORT: env.port(8081),
    /** When set, an admin API key with exactly this value exists in the default workspace. */
    CLOUDFLOW_BOOTSTRAP_API_KEY: z
      .string()
      .min(16, { message: 'must be at least 16 characters' })
      .max(256, { message: 'must be at most 256 characters' })
      .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' })
      .optional(),
    /** The public URL of the API (the gateway), as tokens name their issuer. */
    OAUTH_ISSUER: z
      .url({ protocol: /^https?$/ })
      .transform((url) => url.replace(/\/+$/, ''))
      .default('http://127.0.0.1:8080'),
    OAUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(600),
    OAUTH_REFRESH_TOKEN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(300)
      .default(30 * 86_400),
    OAUTH_CODE_TTL_SECONDS: z.coerce.number().int().min(10).max(600).default(60),
  });
export type AuthConfig = z.infer<typeof AuthConfigSchema>;
