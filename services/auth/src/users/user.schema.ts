import { Schema } from 'mongoose';
import type { Scope } from '@cloudflow/contracts';
import type { TenantDocument } from '@cloudflow/persistence';

/** A person who signs in on the OAuth pages. The password only as its Argon2id hash. */
export interface UserDocument extends TenantDocument {
  username: string;
  passwordHash: string;
  scopes: Scope[];
  createdAt: Date;
}

export const USERS_COLLECTION = 'users';

export const UserSchema = new Schema<UserDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    username: { type: String, required: true },
    passwordHash: { type: String, required: true },
    scopes: { type: [String], required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: USERS_COLLECTION, versionKey: false },
);

// Sign-in asks for the username alone, so it is unique across workspaces.
UserSchema.index({ username: 1 }, { unique: true });
UserSchema.index({ workspaceId: 1, _id: 1 });
