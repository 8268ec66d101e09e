import { Schema } from 'mongoose';

export interface WorkspaceDocument {
  _id: string;
  name: string;
  createdAt: Date;
}

export const WORKSPACES_COLLECTION = 'workspaces';

export const WorkspaceSchema = new Schema<WorkspaceDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: WORKSPACES_COLLECTION, versionKey: false },
);
