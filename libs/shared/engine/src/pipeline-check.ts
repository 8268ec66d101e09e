import type { PipelineStep, TransformConfig } from '@cloudflow/contracts';
import { TransformConfigError, compileTransforms } from './transforms/compile-transforms';

/**
 * What the engine would refuse in a pipeline's steps (today: expressions
 * that do not compile), in the registry's words, e.g.
 * "Step 'transform' (steps[2]) operation 'filter' expression: ...".
 * Empty when the steps can run.
 */
export function engineProblems(steps: readonly PipelineStep[]): string[] {
  const positions: number[] = [];
  const transforms: TransformConfig[] = [];
  steps.forEach((step, index) => {
    if (step.type === 'transform') {
      positions.push(index);
      transforms.push(step.config);
    }
  });
  try {
    compileTransforms(transforms);
    return [];
  } catch (error) {
    if (!(error instanceof TransformConfigError)) throw error;
    const at = positions[error.index] ?? error.index;
    return [`Step 'transform' (steps[${at}]) operation '${error.operation}' ${error.detail}`];
  }
}
