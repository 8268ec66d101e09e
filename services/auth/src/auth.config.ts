import { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const AuthConfigSchema = BaseServiceEnvSchema.extend(MongoEnvSchema.shape).extend({
  PORT: env.port(8081),
  /** When set, an admin API key with exactly this value exists in the default workspace. */
  CLOUDFLOW_BOOTSTRAP_API_KEY: z
    .string()
    .min(16, { message: 'must be at least 16 characters' })
    .max(256, { message: 'must be at most 256 characters' })
    .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' })
    .optional(),
});
export type AuthConfig = z.infer<typeof AuthConfigSchema>;
