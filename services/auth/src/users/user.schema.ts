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

// Usernames are unique within a workspace; sign-in looks them up in the
// workspace of the application the user signs in to. Another workspace's
// usernames are neither visible nor in the way.
UserSchema.index({ workspaceId: 1, username: 1 }, { unique: true });
UserSchema.index({ workspaceId: 1, _id: 1 });
