import { Injectable } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  hasScope,
  validateCreatePipeline,
  validateUpdatePipeline,
  type Page,
  type Pipeline,
  type Principal,
} from '@cloudflow/contracts';
import { decodeCursor, newId, type WorkspaceScope } from '@cloudflow/persistence';
import type { PipelineDocument } from './pipeline.schema';
import { PipelinesRepository } from './pipelines.repository';

const MAX_UPDATE_ATTEMPTS = 5;

/** Pipeline definitions: validated, versioned, and always within one workspace. */
@Injectable()
export class PipelinesService {
  constructor(private readonly pipelines: PipelinesRepository) {}

  async create(principal: Principal, definition: unknown, now = new Date()): Promise<Pipeline> {
    requireWrite(principal);
    const parsed = validateCreatePipeline(definition);
    if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
    const doc = await this.pipelines.insert(scopeOf(principal), {
      _id: newId('pl'),
      ...parsed.value,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    return toPipeline(doc);
  }

  async list(principal: Principal, limit: number, cursor?: string): Promise<Page<Pipeline>> {
    if (cursor !== undefined && decodeCursor(cursor) === undefined) {
      throw new AppError(ErrorCode.ValidationFailed, "query parameter 'cursor' is not a cursor returned by this API");
    }
    const page = await this.pipelines.findPage(scopeOf(principal), { limit, cursor });
    return { items: page.items.map(toPipeline), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, pipelineId: string): Promise<Pipeline> {
    const doc = await this.pipelines.findById(scopeOf(principal), pipelineId);
    if (!doc) throw AppError.notFound('Pipeline', pipelineId);
    return toPipeline(doc);
  }

  async update(principal: Principal, pipelineId: string, patch: unknown, now = new Date()): Promise<Pipeline> {
    requireWrite(principal);
    const parsed = validateUpdatePipeline(patch);
    if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
    const scope = scopeOf(principal);
    // Optimistic concurrency: read the version, write only if it is unchanged.
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.pipelines.findById(scope, pipelineId);
      if (!current) throw AppError.notFound('Pipeline', pipelineId);
      const updated = await this.pipelines.applyPatch(scope, pipelineId, current.version, parsed.value, now);
      if (updated) return toPipeline(updated);
    }
    throw new AppError(ErrorCode.Conflict, `Pipeline '${pipelineId}' is being changed concurrently; retry the update`);
  }

  async delete(principal: Principal, pipelineId: string): Promise<{ deleted: true }> {
    requireWrite(principal);
    const deleted = await this.pipelines.deleteOne(scopeOf(principal), { _id: pipelineId });
    if (!deleted) throw AppError.notFound('Pipeline', pipelineId);
    return { deleted: true };
  }
}

function scopeOf(principal: Principal): WorkspaceScope {
  return { workspaceId: principal.workspaceId };
}

function requireWrite(principal: Principal): void {
  if (!hasScope(principal, 'write')) {
    throw new AppError(ErrorCode.Forbidden, "This credential is read-only; the 'write' scope is required");
  }
}

export function toPipeline(doc: PipelineDocument): Pipeline {
  return {
    id: doc._id,
    name: doc.name,
    ...(doc.description !== undefined && { description: doc.description }),
    steps: doc.steps as Pipeline['steps'],
    version: doc.version,
    createdAt: new Date(doc.createdAt).toISOString(),
    updatedAt: new Date(doc.updatedAt).toISOString(),
  };
}
