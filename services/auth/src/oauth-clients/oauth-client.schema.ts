import { Schema } from 'mongoose';
import type { OAuthGrant, Scope } from '@cloudflow/contracts';
import type { TenantDocument } from '@cloudflow/persistence';

/** A registered OAuth client. A confidential client's secret only as its SHA-256. */
export interface OAuthClientDocument extends TenantDocument {
  name: string;
  type: 'public' | 'confidential';
  redirectUris: string[];
  grants: OAuthGrant[];
  scopes: Scope[];
  secretHash?: string;
  createdAt: Date;
}

export const OAUTH_CLIENTS_COLLECTION = 'oauth_clients';

export const OAuthClientSchema = new Schema<OAuthClientDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    type: { type: String, required: true },
    redirectUris: { type: [String], required: true },
    grants: { type: [String], required: true },
    scopes: { type: [String], required: true },
    secretHash: { type: String },
    createdAt: { type: Date, required: true },
  },
  { collection: OAUTH_CLIENTS_COLLECTION, versionKey: false },
);

OAuthClientSchema.index({ workspaceId: 1, _id: 1 });
