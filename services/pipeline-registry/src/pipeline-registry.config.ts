import type { z } from 'zod';
import { BaseServiceEnvSchema, MongoEnvSchema, env } from '@cloudflow/config';

export const PipelineRegistryConfigSchema = BaseServiceEnvSchema.extend(
  MongoEnvSchema.shape,
).extend({
  PORT: env.port(8082),
});
export type PipelineRegistryConfig = z.infer<typeof PipelineRegistryConfigSchema>;
