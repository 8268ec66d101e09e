import { z } from 'zod';
import { pageSchema } from '../pipelines/pipeline';
import { SCOPES } from './principal';

/**
 * Every key CloudFlow issues starts with this, so secret scanners (and people)
 * can recognise a leaked one. Changing it breaks those scanners' rules.
 */
export const API_KEY_PREFIX = 'cfk_';

/** Body of `POST /api/v1/api-keys`. */
export const CreateApiKeyRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  /** `["read"]` for a read-only key; `["read", "write"]` (the default) for a full one. */
  scopes: z.array(z.enum(SCOPES)).min(1).max(3).optional(),
  /** ISO 8601 time after which the key is refused. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;

/** An API key as the API shows it: never the secret, never its hash. */
export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The first characters of the secret, to recognise it. */
  prefix: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

/** What the gateway sends of a key it minted: never the secret. */
export const MintedKeyRefSchema = z.object({
  keyHash: z.string().regex(/^[0-9a-f]{64}$/),
  prefix: z.string().startsWith(API_KEY_PREFIX).max(20),
});

export type MintedKeyRef = z.infer<typeof MintedKeyRefSchema>;

/** The answer to a create: the only time the secret is shown. */
export const CreatedApiKeySchema = ApiKeySchema.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;

export const ApiKeyPageSchema = pageSchema(ApiKeySchema);
