import { z } from 'zod';
import { ApiKeySchema, CreatedApiKeySchema } from './api-keys';

/** Body of `POST /api/v1/workspaces`. */
export const CreateWorkspaceRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
});
export type CreateWorkspaceRequest = z.infer<typeof CreateWorkspaceRequestSchema>;

export const WorkspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
});
export type Workspace = z.infer<typeof WorkspaceSchema>;

/** A new workspace and its first admin key, as auth answers (without the secret). */
export const WorkspaceWithKeySchema = WorkspaceSchema.extend({ adminKey: ApiKeySchema });
export type WorkspaceWithKey = z.infer<typeof WorkspaceWithKeySchema>;

/** A new workspace comes with its first admin key (the secret shown once). */
export const CreatedWorkspaceSchema = WorkspaceSchema.extend({ adminKey: CreatedApiKeySchema });
export type CreatedWorkspace = z.infer<typeof CreatedWorkspaceSchema>;
