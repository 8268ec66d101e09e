import type { Command } from 'commander';
import {
  ErrorCode,
  MAX_PAGE_SIZE,
  type Pipeline,
  type PipelineValidation,
} from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { ApiError, UsageError } from '../cli-errors';
import { type ApiClient } from '../http/api-client';
import { readPipelineFile } from '../pipelines/pipeline-file';
import { collect, positiveInt, scopeOf, shortTime, type CommandScope } from './command-kit';

const PIPELINES = '/api/v1/pipelines';
const DEFAULT_ERROR_POLICY = { mode: 'fail' };

export function registerPipelineCommands(program: Command, ctx: CliContext): void {
  const pipelines = program
    .command('pipelines')
    .description('create, update, check, list and delete pipelines');

  pipelines
    .command('apply')
    .description(
      'create the pipeline a file defines, or update the one with its name (version + 1)',
    )
    .requiredOption('-f, --file <path>', 'a YAML or JSON pipeline definition (- for stdin)')
    .addHelpText(
      'after',
      `
The file holds what POST /api/v1/pipelines takes, e.g. in YAML:

  name: people-upper
  steps:
    - type: source
      config: { path: /fake/data.csv }
    - type: transform
      config: { operation: uppercase }

A pipeline with the same name is updated in place (fields the file leaves out
are reset to their defaults); an identical one is left alone.`,
    )
    .action(async (options: { file: string }, command: Command) => {
      await apply(scopeOf(ctx, command), options.file);
    });

  pipelines
    .command('validate')
    .description('check a pipeline file without saving it')
    .requiredOption('-f, --file <path>', 'a YAML or JSON pipeline definition (- for stdin)')
    .addHelpText(
      'after',
      `
The server runs every check of creating the pipeline (the pipeline schema, the
expression compiler) and saves nothing (POST /api/v1/pipelines/validate). Data
sources and inputs are checked when a job is submitted.`,
    )
    .action(async (options: { file: string }, command: Command) => {
      await validate(scopeOf(ctx, command), options.file);
    });

  pipelines
    .command('list')
    .description('list pipelines in creation order')
    .option('--limit <n>', 'show at most this many', positiveInt(), 1000)
    .action(async (options: { limit: number }, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const items = await collect(
        session.api.pages<Pipeline>(PIPELINES, { limit: MAX_PAGE_SIZE }),
        options.limit,
      );
      if (printer.json) return printer.document(items);
      printer.table(
        [
          { header: 'ID', value: (p: Pipeline) => p.id, keep: true },
          { header: 'NAME', value: (p) => p.name },
          { header: 'VERSION', value: (p) => p.version, align: 'right' },
          { header: 'STEPS', value: (p) => stepSummary(p) },
          { header: 'UPDATED', value: (p) => shortTime(p.updatedAt) },
        ],
        items,
        'No pipelines yet: create one with `cloudflow pipelines apply -f pipeline.yaml`.',
      );
    });

  pipelines
    .command('get')
    .description('show a pipeline')
    .argument('<pipeline>', 'its id (pl_...) or name')
    .action(async (idOrName: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const pipeline = await resolvePipeline(session.api, idOrName);
      if (printer.json) return printer.document(pipeline);
      printer.fields([
        ['ID', pipeline.id],
        ['Name', pipeline.name],
        ...(pipeline.description
          ? ([['Description', pipeline.description]] as [string, string][])
          : []),
        ['Version', pipeline.version],
        ['Error policy', errorPolicyWords(pipeline.errorPolicy)],
        ['Created', shortTime(pipeline.createdAt)],
        ['Updated', shortTime(pipeline.updatedAt)],
      ]);
      printer.line('Steps:');
      pipeline.steps.forEach((step, i) =>
        printer.fields([[`  ${i + 1}. ${step.type}`, JSON.stringify(step.config)]]),
      );
    });

  pipelines
    .command('delete')
    .description('delete a pipeline (its jobs and results stay)')
    .argument('<pipeline>', 'its id (pl_...) or name')
    .action(async (idOrName: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const pipeline = await resolvePipeline(session.api, idOrName);
      await session.api.delete(pipelinePath(pipeline.id));
      if (printer.json) return printer.document({ deleted: pipeline.id });
      printer.line(`Deleted pipeline ${pipeline.id} '${pipeline.name}'.`);
    });
}

async function apply(scope: CommandScope, file: string): Promise<void> {
  const { ctx, session, printer } = scope;
  const definition = await readPipelineFile(ctx, file);
  const name =
    isRecord(definition) && typeof definition['name'] === 'string' ? definition['name'].trim() : '';
  // Without a name there is nothing to look up: the server says what is missing.
  const existing = name ? await findByName(session.api, name) : [];
  if (existing.length > 1) {
    throw new UsageError(
      `${existing.length} pipelines are named '${name}' (${existing.map((p) => p.id).join(', ')}); rename or delete all but one`,
    );
  }
  const current = existing[0];
  let action: 'created' | 'updated' | 'unchanged';
  let pipeline: Pipeline;
  if (!current) {
    pipeline = await session.api.post<Pipeline>(PIPELINES, definition);
    action = 'created';
  } else if (isRecord(definition) && sameDefinition(definition, current)) {
    pipeline = current;
    action = 'unchanged';
  } else {
    // PUT keeps the fields it is not given; the file is the whole truth, so reset what it omits.
    const patch = isRecord(definition)
      ? {
          ...definition,
          ...(definition['description'] === undefined &&
            current.description && { description: '' }),
          ...(definition['errorPolicy'] === undefined && { errorPolicy: DEFAULT_ERROR_POLICY }),
        }
      : definition;
    pipeline = await session.api.put<Pipeline>(pipelinePath(current.id), patch);
    action = 'updated';
  }
  if (printer.json) return printer.document({ action, pipeline });
  printer.line(
    `${capitalize(action)} pipeline ${pipeline.id} '${pipeline.name}' (version ${pipeline.version}).`,
  );
}

async function validate(scope: CommandScope, file: string): Promise<void> {
  const { ctx, session, printer } = scope;
  const definition = await readPipelineFile(ctx, file);
  const source = file === '-' ? 'stdin' : file;
  try {
    const answer = await session.api.post<PipelineValidation>(`${PIPELINES}/validate`, definition);
    if (printer.json) printer.document({ file: source, ...answer });
    else printer.line(`${source}: valid (checked by the server; nothing was saved)`);
  } catch (error) {
    if (error instanceof ApiError && error.envelope.code === ErrorCode.InvalidPipelineConfig) {
      if (printer.json) {
        printer.document({
          file: source,
          valid: false,
          problems: (error.envelope.details ?? '').split('; ').filter(Boolean),
        });
      } else {
        printer.note(`${source}: the server refuses this pipeline:`);
      }
    }
    throw error;
  }
}

/** An id as given, or the one pipeline with that name. */
export async function resolvePipeline(api: ApiClient, idOrName: string): Promise<Pipeline> {
  if (idOrName.startsWith('pl_')) return api.get<Pipeline>(pipelinePath(idOrName));
  const found = await findByName(api, idOrName);
  if (found.length === 1 && found[0]) return found[0];
  if (found.length === 0) {
    throw new UsageError(`no pipeline is named '${idOrName}' (see \`cloudflow pipelines list\`)`);
  }
  throw new UsageError(
    `${found.length} pipelines are named '${idOrName}': give one of their ids (${found.map((p) => p.id).join(', ')})`,
  );
}

/** The API lists pipelines but cannot filter them by name: every page is read. */
async function findByName(api: ApiClient, name: string): Promise<Pipeline[]> {
  const found: Pipeline[] = [];
  for await (const page of api.pages<Pipeline>(PIPELINES, { limit: MAX_PAGE_SIZE })) {
    found.push(...page.filter((p) => p.name === name));
  }
  return found;
}

function pipelinePath(id: string): string {
  return `${PIPELINES}/${encodeURIComponent(id)}`;
}

function sameDefinition(file: Record<string, unknown>, current: Pipeline): boolean {
  return (
    canonical(file['steps']) === canonical(current.steps) &&
    ((file['description'] as string | undefined) ?? '') === (current.description ?? '') &&
    canonical(file['errorPolicy'] ?? DEFAULT_ERROR_POLICY) === canonical(current.errorPolicy)
  );
}

/** JSON with object keys sorted, so that two equal definitions compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stepSummary(pipeline: Pipeline): string {
  return pipeline.steps
    .map((step) =>
      step.type === 'transform' && typeof step.config['operation'] === 'string'
        ? step.config['operation']
        : step.type,
    )
    .join(' → ');
}

function errorPolicyWords(policy: Pipeline['errorPolicy']): string {
  if (policy.mode === 'fail') return 'fail at the first bad row';
  return policy.maxRejected === undefined
    ? 'skip bad rows'
    : `skip bad rows, fail past ${policy.maxRejected}`;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
