import { Inject, Injectable } from '@nestjs/common';
import {
  createLocalJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import {
  ACCESS_TOKEN_AUDIENCE,
  AppError,
  SCOPES,
  hasScope,
  type Principal,
  type Scope,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { CREDENTIAL_CACHE } from './api-key.strategy';
import { CredentialCache } from './credential-cache';

/** A token naming a key this replica does not know refetches the keys at most this often. */
const KEY_REFRESH_MIN_INTERVAL_MS = 10_000;

const INVALID = 'The bearer token is invalid or expired';

/**
 * Checks an OAuth access token at the edge: the signature against auth's
 * published keys (fetched once, refetched when a token names an unknown
 * key), issuer, audience and expiry locally; then whether its grant still
 * stands (asked of auth, cached like API keys), so a grant revoked for code
 * or refresh-token reuse stops its access tokens within the cache TTL.
 * The token itself never leaves the gateway.
 */
@Injectable()
export class AccessTokenVerifier {
  private keys: Promise<{ issuer: string; keySet: JWTVerifyGetKey }> | undefined;
  private keysFetchedAt = 0;

  constructor(
    private readonly rpc: RpcClient,
    @Inject(CREDENTIAL_CACHE) private readonly cache: CredentialCache,
  ) {}

  async verify(token: string, requestId: string): Promise<Principal> {
    const claims = await this.verifySignature(token, requestId);
    const grantId = claims.gid;
    const cacheKey = `grant:${grantId}`;
    let holder = this.cache.get(cacheKey);
    if (!holder) {
      ({ principal: holder } = await this.rpc.call(
        'auth.oauth.grantPrincipal',
        { grantId },
        { requestId },
      ));
      this.cache.set(cacheKey, holder);
    }
    if (holder.workspaceId !== claims.ws || holder.subject.id !== claims.sub) {
      throw AppError.unauthorized(INVALID);
    }
    // The token carries at most what its grant allows today.
    // (`admin` on the grant covers any scope the token names.)
    const scopes = claims.scopes.filter((scope) => hasScope(holder, scope));
    return { ...holder, scopes };
  }

  private async verifySignature(
    token: string,
    requestId: string,
  ): Promise<{ gid: string; ws: string; sub: string; scopes: Scope[] }> {
    try {
      const { issuer, keySet } = await this.loadKeys(requestId, false);
      const { payload } = await jwtVerify(token, keySet, {
        issuer,
        audience: ACCESS_TOKEN_AUDIENCE,
        algorithms: ['ES256'],
        typ: 'at+jwt',
      }).catch(async (error: unknown) => {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        const fresh = await this.loadKeys(requestId, true);
        return jwtVerify(token, fresh.keySet, {
          issuer: fresh.issuer,
          audience: ACCESS_TOKEN_AUDIENCE,
          algorithms: ['ES256'],
          typ: 'at+jwt',
        });
      });
      const { gid, ws, sub, scope } = payload;
      if (
        typeof gid !== 'string' ||
        typeof ws !== 'string' ||
        typeof sub !== 'string' ||
        typeof scope !== 'string'
      ) {
        throw AppError.unauthorized(INVALID);
      }
      const scopes = scope
        .split(' ')
        .filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
      return { gid, ws, sub, scopes };
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof errors.JWTExpired) {
        throw AppError.unauthorized(
          'The access token has expired; use the refresh token to get a new one',
        );
      }
      if (error instanceof errors.JOSEError) throw AppError.unauthorized(INVALID);
      throw error;
    }
  }

  private loadKeys(
    requestId: string,
    refresh: boolean,
  ): Promise<{ issuer: string; keySet: JWTVerifyGetKey }> {
    const stale = Date.now() - this.keysFetchedAt > KEY_REFRESH_MIN_INTERVAL_MS;
    if (!this.keys || (refresh && stale)) {
      this.keysFetchedAt = Date.now();
      const loading = this.rpc.call('auth.oauth.jwks', {}, { requestId }).then((jwks) => ({
        issuer: jwks.issuer,
        keySet: createLocalJWKSet({ keys: jwks.keys } as unknown as JSONWebKeySet),
      }));
      // A failed fetch is not remembered: the keys known before stay in use,
      // and the next token naming an unknown key tries again.
      const previous = this.keys;
      loading.catch(() => {
        if (this.keys !== loading) return;
        this.keys = previous;
        this.keysFetchedAt = 0;
      });
      this.keys = loading;
    }
    return this.keys;
  }
}
