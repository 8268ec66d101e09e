import { Schema } from 'mongoose';
import type { PipelineStep } from '@cloudflow/contracts';
import type { TenantDocument } from '@cloudflow/persistence';

export interface PipelineDocument extends TenantDocument {
  name: string;
  description?: string;
  steps: PipelineStep[];
  /** Starts at 1; every update adds one. Also the optimistic-concurrency token. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const PIPELINES_COLLECTION = 'pipelines';

export const PipelineSchema = new Schema<PipelineDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String },
    steps: { type: Schema.Types.Mixed, required: true },
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: PIPELINES_COLLECTION, versionKey: false, minimize: false },
);

// Serves every workspace-scoped lookup by id and the keyset-paginated list
// (`workspaceId = ? AND _id > ? ORDER BY _id`).
PipelineSchema.index({ workspaceId: 1, _id: 1 });
