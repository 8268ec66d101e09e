import { z } from 'zod';
import {
  CollectionSinkConfigSchema,
  DataSourceSinkConfigSchema,
  DataSourceSourceConfigSchema,
  FileSinkConfigSchema,
  FileSourceConfigSchema,
  type SinkConfig,
  type SourceConfig,
} from './step-configs';
import {
  TRANSFORM_OPERATIONS,
  TRANSFORM_OPERATION_NAMES,
  isTransformOperation,
  type TransformConfig,
} from './transform-operations';

export const STEP_TYPES = ['source', 'transform', 'sink'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export type PipelineStep =
  | { type: 'source'; config: SourceConfig }
  | { type: 'transform'; config: TransformConfig }
  | { type: 'sink'; config: SinkConfig };

export const MAX_STEPS = 100;
export const PipelineNameSchema = z.string().trim().min(1).max(200);
export const PipelineDescriptionSchema = z.string().max(2000);

/**
 * What a job does with a row it cannot accept (a malformed record, a failed
 * cast or validate rule): `fail` stops the job at the first one; `skip`
 * records it in the job's rejected rows and goes on, failing the job only
 * when more than `maxRejected` rows (if set) were rejected.
 */
export const ErrorPolicySchema = z.strictObject({
  mode: z.enum(['fail', 'skip']),
  maxRejected: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type ErrorPolicy = z.infer<typeof ErrorPolicySchema>;
export const DEFAULT_ERROR_POLICY: ErrorPolicy = { mode: 'fail' };

export interface PipelineDefinition {
  name: string;
  description?: string;
  steps: PipelineStep[];
  errorPolicy?: ErrorPolicy;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Validates the steps of a pipeline and explains every problem in words a user
 * can act on, naming the step by its type and index, e.g.
 * "Step 'transform' (steps[1]) missing required field 'operation'".
 */
export function validateSteps(input: unknown): ValidationResult<PipelineStep[]> {
  if (input === undefined) return { ok: false, problems: ["missing required field 'steps'"] };
  if (!Array.isArray(input)) return { ok: false, problems: ["field 'steps' must be an array"] };
  if (input.length === 0)
    return { ok: false, problems: ["field 'steps' must contain at least one step"] };
  if (input.length > MAX_STEPS) {
    return { ok: false, problems: [`field 'steps' may contain at most ${MAX_STEPS} steps`] };
  }

  const problems: string[] = [];
  const steps: PipelineStep[] = [];
  input.forEach((raw: unknown, index) => {
    const step = validateStep(raw, index, input.length);
    if (step.ok) steps.push(step.value);
    else problems.push(...step.problems);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: steps };
}

function validateStep(raw: unknown, index: number, count: number): ValidationResult<PipelineStep> {
  const at = `steps[${index}]`;
  if (!isPlainObject(raw)) return fail(`Step ${at} must be an object with 'type' and 'config'`);
  const unknownKeys = Object.keys(raw).filter((k) => k !== 'type' && k !== 'config');
  const type = raw['type'];
  if (type === undefined) return fail(`Step ${at} missing required field 'type'`);
  if (typeof type !== 'string' || !(STEP_TYPES as readonly string[]).includes(type)) {
    return fail(
      `Step ${at} has unknown type ${quote(type)}; expected one of ${STEP_TYPES.join(', ')}`,
    );
  }
  const name = `Step '${type}' (${at})`;
  if (unknownKeys.length > 0)
    return fail(`${name} has unknown field ${unknownKeys.map(quote).join(', ')}`);
  if (type === 'source' && index !== 0)
    return fail(`${name} must be the first step: a pipeline reads from one source`);
  if (type === 'sink' && index !== count - 1)
    return fail(`${name} must be the last step: a pipeline writes to one sink`);

  const config = raw['config'];
  if (config === undefined) return fail(`${name} missing required field 'config'`);
  if (!isPlainObject(config)) return fail(`${name} field 'config' must be an object`);

  switch (type) {
    case 'source':
      return validateSourceConfig(name, config);
    case 'sink':
      return validateSinkConfig(name, config);
    case 'transform':
      return validateTransformConfig(name, config);
    default:
      return fail(`${name} has unknown type`);
  }
}

function validateTransformConfig(
  name: string,
  config: Record<string, unknown>,
): ValidationResult<PipelineStep> {
  const operation = config['operation'];
  if (operation === undefined) return fail(`${name} missing required field 'operation'`);
  if (!isTransformOperation(operation)) {
    return fail(
      `${name} has unknown operation ${quote(operation)}; expected one of ${TRANSFORM_OPERATION_NAMES.join(', ')}`,
    );
  }
  const schema: z.ZodType<TransformConfig> = TRANSFORM_OPERATIONS[operation];
  return parseConfig(`${name} operation '${operation}'`, schema, config, (c) => ({
    type: 'transform',
    config: c,
  }));
}

function validateSourceConfig(
  name: string,
  config: Record<string, unknown>,
): ValidationResult<PipelineStep> {
  if (!('path' in config) && !('datasource' in config)) {
    return fail(`${name} missing required field 'path' (or 'datasource' to read a data source)`);
  }
  // With a data source, `path` names a file under the data source's directory.
  const schema = 'datasource' in config ? DataSourceSourceConfigSchema : FileSourceConfigSchema;
  return parseConfig(name, schema as z.ZodType<SourceConfig>, config, (c) => ({
    type: 'source',
    config: c,
  }));
}

function validateSinkConfig(
  name: string,
  config: Record<string, unknown>,
): ValidationResult<PipelineStep> {
  // With a data source, `path` names a file under the data source's directory.
  const kinds = ['target', 'path', 'datasource'].filter(
    (k) => k in config && !(k === 'path' && 'datasource' in config),
  );
  if (kinds.length === 0) {
    return fail(
      `${name} missing required field 'target' (or 'path' for a file sink, 'datasource' for a data source)`,
    );
  }
  if (kinds.length > 1) {
    return fail(`${name} must set one of ${kinds.map((k) => `'${k}'`).join(', ')}, not several`);
  }
  const schema =
    'target' in config
      ? CollectionSinkConfigSchema
      : 'datasource' in config
        ? DataSourceSinkConfigSchema
        : FileSinkConfigSchema;
  return parseConfig(name, schema as z.ZodType<SinkConfig>, config, (c) => ({
    type: 'sink',
    config: c,
  }));
}

function parseConfig<C>(
  name: string,
  schema: z.ZodType<C>,
  config: Record<string, unknown>,
  build: (c: C) => PipelineStep,
): ValidationResult<PipelineStep> {
  const parsed = schema.safeParse(config, { reportInput: true });
  if (parsed.success) return { ok: true, value: build(parsed.data) };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `${name} ${describeIssue(issue)}`),
  };
}

/** Turns a schema issue into words, without echoing the rejected value. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join('.');
  const subject = field ? `field '${field}'` : 'value';
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `missing required field '${field}'`
        : `${subject} must be ${article(issue.expected)}`;
    case 'unrecognized_keys':
      return `has unknown field ${issue.keys.map((k) => `'${field ? `${field}.` : ''}${k.slice(0, 60)}'`).join(', ')}`;
    case 'invalid_value':
      return `${subject} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `${subject} ${issue.origin === 'array' ? `must have at least ${issue.minimum} item(s)` : issue.origin === 'string' ? `must be at least ${issue.minimum} character(s)` : `must be at least ${issue.minimum}`}`;
    case 'too_big':
      return `${subject} ${issue.origin === 'array' ? `must have at most ${issue.maximum} item(s)` : issue.origin === 'string' ? `must be at most ${issue.maximum} character(s)` : `must be at most ${issue.maximum}`}`;
    case 'invalid_key':
      return `${subject} has an invalid key: ${issue.issues[0]?.message ?? 'not allowed'}`;
    default:
      return `${subject} ${issue.message}`;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function fail<T>(problem: string): ValidationResult<T> {
  return { ok: false, problems: [problem] };
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${(text ?? String(value)).slice(0, 60)}'`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
