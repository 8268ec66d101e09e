import { Injectable } from '@nestjs/common';
import {
  AppError,
  DEFAULT_ERROR_POLICY,
  ErrorCode,
  requireScope,
  validateCreatePipeline,
  validateUpdatePipeline,
  type Page,
  type Pipeline,
  type PipelineDefinition,
  type PipelineStep,
  type PipelineValidation,
  type Principal,
} from '@cloudflow/contracts';
import { engineProblems } from '@cloudflow/engine';
import { newId, requireCursor, scopeOf, type WorkspaceScope } from '@cloudflow/persistence';
import type { PipelineVersionDocument } from './pipeline.schema';
import { PipelinesRepository } from './pipelines.repository';

const MAX_WRITE_ATTEMPTS = 5;

/** Pipeline definitions: validated, versioned, and always within one workspace. */
@Injectable()
export class PipelinesService {
  constructor(private readonly pipelines: PipelinesRepository) {}

  async create(principal: Principal, definition: unknown, now = new Date()): Promise<Pipeline> {
    requireScope(principal, 'write');
    const checked = checkedDefinition(definition);
    const scope = scopeOf(principal);
    const first = {
      pipelineId: newId('pl'),
      version: 1,
      ...checked,
      createdAt: now,
      updatedAt: now,
    };
    // A fresh UUIDv7 id cannot collide, so version 1 is always ours.
    await this.pipelines.appendVersion(scope, first);
    await this.pipelines.project(scope, first);
    return toPipeline(first);
  }

  /** Every check `create` makes, and nothing written: any key of the workspace may ask. */
  validate(definition: unknown): PipelineValidation {
    const { name, description, steps, errorPolicy } = checkedDefinition(definition);
    return {
      valid: true,
      definition: {
        name,
        ...(description !== undefined && { description }),
        steps: steps as Pipeline['steps'],
        errorPolicy: errorPolicy ?? DEFAULT_ERROR_POLICY,
      },
    };
  }

  async list(principal: Principal, limit: number, cursor?: string): Promise<Page<Pipeline>> {
    requireCursor(cursor);
    const page = await this.pipelines.listLive(scopeOf(principal), { limit, cursor });
    return {
      items: page.items.map((doc) => toPipeline({ ...doc, pipelineId: doc._id })),
      nextCursor: page.nextCursor,
    };
  }

  async get(principal: Principal, pipelineId: string): Promise<Pipeline> {
    return toPipeline(await this.live(scopeOf(principal), pipelineId));
  }

  /**
   * Writes the next version. Two concurrent updates cannot both become
   * version N+1: the loser re-reads and applies its patch on top.
   */
  async update(
    principal: Principal,
    pipelineId: string,
    patch: unknown,
    now = new Date(),
  ): Promise<Pipeline> {
    requireScope(principal, 'write');
    const parsed = validateUpdatePipeline(patch);
    if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
    if (parsed.value.steps) requireRunnable(parsed.value.steps);
    const scope = scopeOf(principal);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.live(scope, pipelineId);
      const next: PipelineVersionDocument = {
        ...current,
        ...parsed.value,
        version: current.version + 1,
        updatedAt: now,
      };
      if (await this.pipelines.appendVersion(scope, next)) {
        await this.pipelines.project(scope, next);
        return toPipeline(next);
      }
    }
    throw new AppError(
      ErrorCode.Conflict,
      `Pipeline '${pipelineId}' is being changed concurrently; retry the update`,
    );
  }

  /** Deleting writes a tombstone version, so a racing update cannot resurrect the pipeline. */
  async delete(
    principal: Principal,
    pipelineId: string,
    now = new Date(),
  ): Promise<{ deleted: true }> {
    requireScope(principal, 'write');
    const scope = scopeOf(principal);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.live(scope, pipelineId);
      const tombstone = { ...current, version: current.version + 1, deleted: true, updatedAt: now };
      if (await this.pipelines.appendVersion(scope, tombstone)) {
        await this.pipelines.project(scope, tombstone);
        return { deleted: true };
      }
    }
    throw new AppError(
      ErrorCode.Conflict,
      `Pipeline '${pipelineId}' is being changed concurrently; retry the delete`,
    );
  }

  private async live(scope: WorkspaceScope, pipelineId: string): Promise<PipelineVersionDocument> {
    const latest = await this.pipelines.latestVersion(scope, pipelineId);
    if (!latest || latest.deleted) throw AppError.notFound('Pipeline', pipelineId);
    return latest;
  }
}

/** Expressions and other engine-level checks, so a pipeline that cannot run is refused up front. */
/** A definition as create stores it, or 400/4001 naming every problem. */
function checkedDefinition(definition: unknown): PipelineDefinition {
  const parsed = validateCreatePipeline(definition);
  if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
  requireRunnable(parsed.value.steps);
  return parsed.value;
}

function requireRunnable(steps: PipelineStep[]): void {
  const problems = engineProblems(steps);
  if (problems.length > 0) throw AppError.invalidPipeline(problems.join('; '));
}

type PipelineView = Pick<
  PipelineVersionDocument,
  | 'pipelineId'
  | 'name'
  | 'description'
  | 'steps'
  | 'errorPolicy'
  | 'version'
  | 'createdAt'
  | 'updatedAt'
>;

export function toPipeline(doc: PipelineView): Pipeline {
  return {
    id: doc.pipelineId,
    name: doc.name,
    ...(doc.description !== undefined && { description: doc.description }),
    steps: doc.steps as Pipeline['steps'],
    errorPolicy: doc.errorPolicy ?? DEFAULT_ERROR_POLICY,
    version: doc.version,
    createdAt: new Date(doc.createdAt).toISOString(),
    updatedAt: new Date(doc.updatedAt).toISOString(),
  };
}
