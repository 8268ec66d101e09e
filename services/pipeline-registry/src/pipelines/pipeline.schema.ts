import { Schema } from 'mongoose';
import type { ErrorPolicy, PipelineStep } from '@cloudflow/contracts';
import type { TenantDocument } from '@cloudflow/persistence';

/**
 * One version of a pipeline, immutable once written. `_id` is
 * `<pipelineId>@<version>`: the unique `_id` is what makes two concurrent
 * writers of the same next version collide, so exactly one wins (see
 * docs/adr/0003-atomic-writes-on-ferretdb.md). The latest version is the truth;
 * a version with `deleted: true` is a tombstone.
 */
export interface PipelineVersionDocument extends TenantDocument {
  pipelineId: string;
  version: number;
  name: string;
  description?: string;
  steps: PipelineStep[];
  errorPolicy?: ErrorPolicy;
  deleted?: boolean;
  /** When the pipeline was created (same on every version). */
  createdAt: Date;
  /** When this version was written. */
  updatedAt: Date;
}

/**
 * The latest version of each pipeline, kept for listing. A deleted pipeline
 * stays here as a tombstone (`deleted: true`) so that a slower writer of an
 * older version can never bring it back.
 */
export interface PipelineDocument extends TenantDocument {
  name: string;
  deleted?: boolean;
  description?: string;
  steps: PipelineStep[];
  errorPolicy?: ErrorPolicy;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const PIPELINES_COLLECTION = 'pipelines';
export const PIPELINE_VERSIONS_COLLECTION = 'pipeline_versions';

export function versionId(pipelineId: string, version: number): string {
  return `${pipelineId}@${version}`;
}

export const PipelineVersionSchema = new Schema<PipelineVersionDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    pipelineId: { type: String, required: true },
    version: { type: Number, required: true },
    name: { type: String, required: true },
    description: { type: String },
    steps: { type: Schema.Types.Mixed, required: true },
    errorPolicy: { type: Schema.Types.Mixed },
    deleted: { type: Boolean },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: PIPELINE_VERSIONS_COLLECTION, versionKey: false, minimize: false },
);

// Serves "latest version of a pipeline": workspaceId = ? AND pipelineId = ? ORDER BY version DESC LIMIT 1.
PipelineVersionSchema.index({ workspaceId: 1, pipelineId: 1, version: -1 });

export const PipelineSchema = new Schema<PipelineDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String },
    steps: { type: Schema.Types.Mixed, required: true },
    errorPolicy: { type: Schema.Types.Mixed },
    version: { type: Number, required: true },
    deleted: { type: Boolean },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: PIPELINES_COLLECTION, versionKey: false, minimize: false },
);

// Serves the keyset-paginated list: workspaceId = ? AND _id > ? ORDER BY _id.
PipelineSchema.index({ workspaceId: 1, _id: 1 });
