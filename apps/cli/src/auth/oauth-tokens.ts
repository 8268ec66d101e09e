import { z } from 'zod';
import type { ApiClient } from '../http/api-client';
import type { OAuthCredential } from '../config/config-store';

const TOKEN_PATH = '/api/v1/oauth/token';
/** Renew an access token this long before it expires, so that it does not expire in flight. */
export const EXPIRY_MARGIN_MS = 30_000;

const TokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().positive(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});

function credentialOf(
  answer: unknown,
  clientId: string,
  now: number,
  previousRefreshToken?: string,
): OAuthCredential {
  const tokens = TokenAnswerSchema.parse(answer);
  const refreshToken = tokens.refresh_token ?? previousRefreshToken;
  return {
    kind: 'oauth',
    clientId,
    accessToken: tokens.access_token,
    ...(refreshToken && { refreshToken }),
    expiresAt: new Date(now + tokens.expires_in * 1000).toISOString(),
    ...(tokens.scope && { scope: tokens.scope }),
  };
}

/** RFC 6749 4.1.3 with the PKCE verifier (RFC 7636 4.5); a public client sends only its id. */
export async function exchangeCode(
  api: ApiClient,
  request: { clientId: string; code: string; redirectUri: string; verifier: string },
  now: number,
): Promise<OAuthCredential> {
  const answer = await api.request<unknown>('POST', TOKEN_PATH, {
    authenticate: false,
    form: {
      grant_type: 'authorization_code',
      code: request.code,
      redirect_uri: request.redirectUri,
      client_id: request.clientId,
      code_verifier: request.verifier,
    },
  });
  return credentialOf(answer.body, request.clientId, now);
}

/** RFC 6749 6: refresh tokens rotate, so the answer's replaces the one used. */
export async function refreshCredential(
  api: ApiClient,
  credential: OAuthCredential,
  now: number,
): Promise<OAuthCredential> {
  if (!credential.refreshToken) throw new Error('no refresh token to renew the access token with');
  const answer = await api.request<unknown>('POST', TOKEN_PATH, {
    authenticate: false,
    form: {
      grant_type: 'refresh_token',
      refresh_token: credential.refreshToken,
      client_id: credential.clientId,
    },
  });
  return credentialOf(answer.body, credential.clientId, now, credential.refreshToken);
}

/** RFC 7009: revoking the refresh token ends the whole grant on the server. */
export async function revokeCredential(api: ApiClient, credential: OAuthCredential): Promise<void> {
  await api.request<unknown>('POST', '/api/v1/oauth/revoke', {
    authenticate: false,
    form: {
      token: credential.refreshToken ?? credential.accessToken,
      client_id: credential.clientId,
    },
  });
}

export function isExpired(credential: OAuthCredential, now: number): boolean {
  return Date.parse(credential.expiresAt) - EXPIRY_MARGIN_MS <= now;
}
