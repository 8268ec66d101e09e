import { Schema } from 'mongoose';
import type { Scope } from '@cloudflow/contracts';
import type { TenantDocument } from '@cloudflow/persistence';

/** An API key as stored: never the key itself, only its SHA-256. */
export interface ApiKeyDocument extends TenantDocument {
  name: string;
  /** SHA-256 hex of the key. Keys are long random strings, so a fast hash is enough to make a leak useless. */
  keyHash: string;
  /** The first characters of the key, to recognise it in a list. */
  displayPrefix: string;
  scopes: Scope[];
  createdAt: Date;
  expiresAt?: Date;
  revokedAt?: Date;
}

export const API_KEYS_COLLECTION = 'api_keys';

export const ApiKeySchema = new Schema<ApiKeyDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    keyHash: { type: String, required: true },
    displayPrefix: { type: String, required: true },
    scopes: { type: [String], required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date },
    revokedAt: { type: Date },
  },
  { collection: API_KEYS_COLLECTION, versionKey: false },
);

// Serves authentication (`keyHash = ?`) and makes a key value unique everywhere.
ApiKeySchema.index({ keyHash: 1 }, { unique: true });
// Serves the workspace's key list.
ApiKeySchema.index({ workspaceId: 1, _id: 1 });
