import { z } from 'zod';
import {
  ErrorPolicySchema,
  PipelineDescriptionSchema,
  PipelineNameSchema,
  describeIssue,
  isPlainObject,
  validateSteps,
  type ErrorPolicy,
  type PipelineDefinition,
  type PipelineStep,
  type ValidationResult,
} from './pipeline-definition';

const CREATE_FIELDS = ['name', 'description', 'steps', 'errorPolicy'] as const;

/** Body of `POST /api/v1/pipelines`. */
export function validateCreatePipeline(body: unknown): ValidationResult<PipelineDefinition> {
  if (!isPlainObject(body)) return { ok: false, problems: ['request body must be a JSON object'] };
  const problems = unknownFields(body);
  const { name, description } = nameAndDescription(body, problems, true);
  const steps = validateSteps(body['steps']);
  if (!steps.ok) problems.push(...steps.problems);
  const errorPolicy = field('errorPolicy', ErrorPolicySchema, body['errorPolicy'], problems, false);
  if (problems.length > 0 || !steps.ok || name === undefined) return { ok: false, problems };
  return {
    ok: true,
    value: {
      name,
      ...(description !== undefined && { description }),
      steps: steps.value,
      ...(errorPolicy !== undefined && { errorPolicy }),
    },
  };
}

export interface PipelinePatch {
  name?: string;
  description?: string;
  steps?: PipelineStep[];
  errorPolicy?: ErrorPolicy;
}

/**
 * Body of `PUT /api/v1/pipelines/{id}`: the fields given replace the stored
 * ones, fields left out keep their value (the published example sends only
 * `steps`). At least one field is required.
 */
export function validateUpdatePipeline(body: unknown): ValidationResult<PipelinePatch> {
  if (!isPlainObject(body)) return { ok: false, problems: ['request body must be a JSON object'] };
  const problems = unknownFields(body);
  if (!CREATE_FIELDS.some((k) => k in body)) {
    problems.push(
      `request body must set at least one of ${CREATE_FIELDS.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  const patch: PipelinePatch = {};
  const { name, description } = nameAndDescription(body, problems, false);
  if (name !== undefined) patch.name = name;
  if (description !== undefined) patch.description = description;
  const errorPolicy = field('errorPolicy', ErrorPolicySchema, body['errorPolicy'], problems, false);
  if (errorPolicy !== undefined) patch.errorPolicy = errorPolicy;
  if ('steps' in body) {
    const steps = validateSteps(body['steps']);
    if (steps.ok) patch.steps = steps.value;
    else problems.push(...steps.problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: patch };
}

function nameAndDescription(
  body: Record<string, unknown>,
  problems: string[],
  nameRequired: boolean,
): { name?: string; description?: string } {
  return {
    name: field('name', PipelineNameSchema, body['name'], problems, nameRequired),
    description: field(
      'description',
      PipelineDescriptionSchema,
      body['description'],
      problems,
      false,
    ),
  };
}

function unknownFields(body: Record<string, unknown>): string[] {
  const unknown = Object.keys(body).filter(
    (k) => !(CREATE_FIELDS as readonly string[]).includes(k),
  );
  return unknown.length > 0
    ? [`unknown field ${unknown.map((k) => `'${k.slice(0, 60)}'`).join(', ')}`]
    : [];
}

function field<T>(
  name: string,
  schema: z.ZodType<T>,
  value: unknown,
  problems: string[],
  required: boolean,
): T | undefined {
  if (value === undefined) {
    if (required) problems.push(`missing required field '${name}'`);
    return undefined;
  }
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    problems.push(describeIssue({ ...issue, path: [name, ...issue.path] }));
  }
  return undefined;
}

/** `limit` and `cursor` of list endpoints. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, { message: 'is not a cursor returned by this API' })
    .optional(),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;
