import { PUBLISHED_EXAMPLE_PIPELINE, type PipelineStep } from '@cloudflow/contracts';

/** The pipeline of the published API's "Create Pipeline" example, verbatim. */
export const SPEC_CREATE_PIPELINE_BODY = PUBLISHED_EXAMPLE_PIPELINE;

/** The published API's "Update Pipeline Configuration" body, verbatim. */
export const SPEC_UPDATE_PIPELINE_BODY = {
  steps: [{ type: 'transform', config: { operation: 'reverse' } }],
} as const;

let counter = 0;

/** A valid pipeline definition with a unique name; override any part. */
export function aPipeline(
  overrides: { name?: string; description?: string; steps?: PipelineStep[] } = {},
) {
  counter += 1;
  return {
    name: overrides.name ?? `pipeline-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    ...(overrides.description !== undefined && { description: overrides.description }),
    steps: overrides.steps ?? [
      { type: 'source', config: { path: '/in/people.csv' } },
      { type: 'transform', config: { operation: 'uppercase', fields: ['name'] } },
      { type: 'sink', config: { target: 'db://people' } },
    ],
  };
}
