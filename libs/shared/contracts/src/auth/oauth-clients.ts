import { z } from 'zod';
import { pageSchema } from '../pipelines/pipeline';
import { SCOPES } from './principal';

/** Every client secret starts with this, so secret scanners can spot a leaked one. */
export const CLIENT_SECRET_PREFIX = 'cfs_';

export const OAUTH_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type OAuthGrant = (typeof OAUTH_GRANTS)[number];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * A redirect URI a client may register: absolute, no fragment (RFC 6749
 * 3.1.2), HTTPS unless it points at the user's own machine (RFC 8252 7.3).
 * Matched byte for byte at authorization (RFC 9700 2.1), except the port of a
 * public client's loopback IP URI, which a native app picks at run time
 * (RFC 8252 7.3; auth's `isAllowedRedirectUri`).
 */
export const RedirectUriSchema = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      if (url.hash !== '' || value.includes('#')) return false;
      if (url.username || url.password) return false;
      return (
        url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
      );
    } catch {
      return false;
    }
  }, 'must be an absolute https:// URL (http:// only for 127.0.0.1, [::1] or localhost) without a fragment or credentials');

/** Body of `POST /api/v1/oauth/clients`. */
export const CreateOAuthClientRequestSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    /**
     * `public`: cannot keep a secret (a browser app, a CLI) and must use PKCE.
     * `confidential`: a server that authenticates with its client secret.
     */
    type: z.enum(['public', 'confidential']).default('confidential'),
    redirectUris: z.array(RedirectUriSchema).max(10).default([]),
    grants: z
      .array(z.enum(OAUTH_GRANTS))
      .min(1)
      .max(3)
      .default(['authorization_code', 'refresh_token']),
    /** The most a token of this client may carry; for client credentials, what it gets. */
    scopes: z.array(z.enum(SCOPES)).min(1).max(3).default(['read', 'write']),
  })
  .superRefine((client, ctx) => {
    if (client.type === 'public' && client.grants.includes('client_credentials')) {
      ctx.addIssue({
        code: 'custom',
        path: ['grants'],
        message: 'a public client cannot use client_credentials: it has no secret',
      });
    }
    if (client.grants.includes('authorization_code') && client.redirectUris.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redirectUris'],
        message: 'authorization_code needs at least one redirect URI',
      });
    }
  });
export type CreateOAuthClientRequest = z.infer<typeof CreateOAuthClientRequestSchema>;

/** A client as the API shows it: never the secret or its hash. */
export const OAuthClientSchema = z.object({
  /** The `client_id`. */
  id: z.string(),
  name: z.string(),
  type: z.enum(['public', 'confidential']),
  redirectUris: z.array(z.string()),
  grants: z.array(z.enum(OAUTH_GRANTS)),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: z.string(),
});
export type OAuthClient = z.infer<typeof OAuthClientSchema>;

/** The answer to a create: a confidential client's secret, shown this once. */
export const CreatedOAuthClientSchema = OAuthClientSchema.extend({
  clientSecret: z.string().optional(),
});
export type CreatedOAuthClient = z.infer<typeof CreatedOAuthClientSchema>;

export const OAuthClientPageSchema = pageSchema(OAuthClientSchema);

/** The public keys access tokens are signed with, and who signs them. */
export const JwksSchema = z.object({
  issuer: z.string(),
  keys: z.array(z.record(z.string(), z.unknown())),
});
export type Jwks = z.infer<typeof JwksSchema>;

/** The audience every CloudFlow access token names. */
export const ACCESS_TOKEN_AUDIENCE = 'cloudflow-api';
