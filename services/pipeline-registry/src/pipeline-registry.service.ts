import { defineService } from '@cloudflow/runtime';
import { PipelineRegistryConfigSchema } from './pipeline-registry.config';
import { PipelinesModule } from './pipelines/pipelines.module';

/** The pipeline-registry service: run as its own process by main.ts, or composed in standalone mode. */
export const pipelineRegistryService = defineService({
  name: 'pipeline-registry',
  configSchema: PipelineRegistryConfigSchema,
  mongo: true,
  rpcServer: true,
  features: () => [PipelinesModule],
});
