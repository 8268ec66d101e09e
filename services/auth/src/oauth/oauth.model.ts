import { Inject, Injectable } from '@nestjs/common';
import { InvalidRequestError } from '@node-oauth/oauth2-server';
import type OAuth2Server from '@node-oauth/oauth2-server';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SCOPES, type Scope } from '@cloudflow/contracts';
import { newId } from '@cloudflow/persistence';
import type { OAuthClientDocument } from '../oauth-clients/oauth-client.schema';
import { OAuthClientsRepository } from '../oauth-clients/oauth-clients.repository';
import { UsersRepository } from '../users/users.repository';
import { OAuthStore, sha256, type GrantDocument, type GrantSubject } from './oauth.store';
import { isAllowedRedirectUri } from './redirect-uri';
import { OAUTH_SETTINGS, SigningKeys, type OAuthSettings } from './signing-keys';

/** Every refresh token starts with this, so secret scanners can spot a leaked one. */
export const REFRESH_TOKEN_PREFIX = 'cfr_';

/** The library's `user`: whoever a grant is for, and the grant once there is one. */
export interface GrantHolder extends GrantSubject {
  workspaceId: string;
  /** What this holder may have granted at most. */
  scopes: Scope[];
  grantId?: string;
  /**
   * False when the authorization request named no redirect URI (the client's
   * only one was used): then the token request need not name it either
   * (RFC 6749 4.1.3).
   */
  redirectUriSent?: boolean;
}

/** The library's `client`, with what CloudFlow needs to decide. */
export interface ModelClient extends OAuth2Server.Client {
  id: string;
  type: 'public' | 'confidential';
  workspaceId: string;
  redirectUris: string[];
  grants: string[];
  scopes: Scope[];
}

type Model = OAuth2Server.AuthorizationCodeModel &
  OAuth2Server.RefreshTokenModel &
  OAuth2Server.ClientCredentialsModel;

/**
 * The storage side of @node-oauth/oauth2-server, which runs the protocol.
 * The RFC 9700 rules CloudFlow adds live here: a reused authorization code
 * or rotated refresh token revokes its whole grant; public clients must use
 * PKCE with S256 (the library refuses `plain`); redirect URIs match exactly,
 * but for the port of a public client's loopback IP URI (RFC 8252 7.3). The
 * token request must then name the URI the authorization request used: the
 * code keeps that one, and the library compares against it.
 */
@Injectable()
export class OAuthModel implements Model {
  constructor(
    private readonly store: OAuthStore,
    private readonly clients: OAuthClientsRepository,
    private readonly users: UsersRepository,
    private readonly keys: SigningKeys,
    @Inject(OAUTH_SETTINGS) private readonly settings: OAuthSettings,
  ) {}

  /**
   * The library asks with `clientSecret === null` at the authorization
   * endpoint (no authentication there) and with the secret, or `undefined`
   * when none was sent, at the token endpoint. A confidential client must
   * always authenticate at the token endpoint.
   */
  async getClient(
    clientId: string,
    clientSecret: string | null | undefined,
  ): Promise<ModelClient | false> {
    const doc = await this.clients.findByClientId(clientId);
    if (!doc) return false;
    if (typeof clientSecret === 'string') {
      if (!doc.secretHash || !sameHash(sha256(clientSecret), doc.secretHash)) return false;
    } else if (clientSecret === undefined && doc.type === 'confidential') {
      return false;
    }
    return toModelClient(doc);
  }

  async validateRedirectUri(redirectUri: string, client: ModelClient): Promise<boolean> {
    return Promise.resolve(isAllowedRedirectUri(client, redirectUri));
  }

  /** Grants what was asked, narrowed to what both the holder and the client may have. */
  async validateScope(
    holder: GrantHolder,
    client: ModelClient,
    requested?: string[],
  ): Promise<Scope[] | false> {
    const allowed = expand(holder.scopes).filter((s) => expand(client.scopes).includes(s));
    if (requested && requested.some((s) => !(SCOPES as readonly string[]).includes(s))) {
      return Promise.resolve(false);
    }
    const granted = requested ? allowed.filter((s) => requested.includes(s)) : allowed;
    return Promise.resolve(granted.length > 0 ? granted : false);
  }

  async saveAuthorizationCode(
    code: Pick<
      OAuth2Server.AuthorizationCode,
      | 'authorizationCode'
      | 'expiresAt'
      | 'redirectUri'
      | 'scope'
      | 'codeChallenge'
      | 'codeChallengeMethod'
    >,
    client: ModelClient,
    holder: GrantHolder,
  ): Promise<OAuth2Server.AuthorizationCode> {
    if (client.type === 'public' && !code.codeChallenge) {
      throw new InvalidRequestError(
        'Invalid request: a public client must send `code_challenge` (PKCE, method S256)',
      );
    }
    const scopes = (code.scope ?? []) as Scope[];
    const grant = await this.newGrant(holder, client, scopes);
    await this.store.saveCode(code.authorizationCode, {
      grantId: grant._id,
      clientId: client.id,
      redirectUri: code.redirectUri,
      redirectUriSent: holder.redirectUriSent !== false,
      scopes,
      expiresAt: code.expiresAt,
      ...(code.codeChallenge && {
        codeChallenge: code.codeChallenge,
        codeChallengeMethod: code.codeChallengeMethod ?? 'S256',
      }),
    });
    return { ...code, client, user: { ...holder, grantId: grant._id } };
  }

  async getAuthorizationCode(code: string): Promise<OAuth2Server.AuthorizationCode | false> {
    const doc = await this.store.findCode(code);
    if (!doc) return false;
    if (await this.store.isCodeRedeemed(code)) {
      await this.store.revokeGrant(doc.grantId, 'authorization code reused');
      return false;
    }
    const holder = await this.activeHolder(doc.grantId);
    if (!holder) return false;
    return {
      authorizationCode: code,
      expiresAt: doc.expiresAt,
      // Empty: the library then does not ask the token request for it.
      redirectUri: doc.redirectUriSent === false ? '' : doc.redirectUri,
      scope: doc.scopes,
      client: { id: doc.clientId, grants: [] },
      user: holder,
      ...(doc.codeChallenge && {
        codeChallenge: doc.codeChallenge,
        codeChallengeMethod: doc.codeChallengeMethod,
      }),
    };
  }

  /** Exactly one redemption of a code wins; a second one revokes the grant. */
  async revokeAuthorizationCode(code: OAuth2Server.AuthorizationCode): Promise<boolean> {
    const won = await this.store.redeemCode(code.authorizationCode);
    if (!won) {
      await this.store.revokeGrant(
        grantIdOf(code.user as GrantHolder),
        'authorization code reused',
      );
    }
    return won;
  }

  generateAccessToken(client: ModelClient, holder: GrantHolder, scope: string[]): Promise<string> {
    return this.keys.sign({
      subject: holder.id,
      workspaceId: holder.workspaceId,
      clientId: client.id,
      grantId: grantIdOf(holder),
      scopes: scope,
    });
  }

  generateRefreshToken(): Promise<string> {
    return Promise.resolve(`${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`);
  }

  async saveToken(
    token: OAuth2Server.Token,
    client: ModelClient,
    holder: GrantHolder,
  ): Promise<OAuth2Server.Token> {
    if (token.refreshToken) {
      await this.store.saveRefreshToken(token.refreshToken, {
        grantId: grantIdOf(holder),
        clientId: client.id,
        scopes: (token.scope ?? []) as Scope[],
        expiresAt:
          token.refreshTokenExpiresAt ??
          new Date(Date.now() + this.settings.refreshTokenLifetimeSeconds * 1000),
        createdAt: new Date(),
      });
    }
    return { ...token, client, user: holder };
  }

  async getRefreshToken(refreshToken: string): Promise<OAuth2Server.RefreshToken | false> {
    const doc = await this.store.findRefreshToken(refreshToken);
    if (!doc) return false;
    if (await this.store.isRefreshTokenRotated(refreshToken)) {
      await this.store.revokeGrant(doc.grantId, 'refresh token reused');
      return false;
    }
    const holder = await this.activeHolder(doc.grantId);
    if (!holder) return false;
    return {
      refreshToken,
      refreshTokenExpiresAt: doc.expiresAt,
      scope: doc.scopes,
      client: { id: doc.clientId, grants: [] },
      user: holder,
    };
  }

  /** Rotation: exactly one use of a refresh token wins; a second one revokes the family. */
  async revokeToken(token: OAuth2Server.RefreshToken): Promise<boolean> {
    const won = await this.store.rotateRefreshToken(token.refreshToken);
    if (!won) {
      await this.store.revokeGrant(grantIdOf(token.user as GrantHolder), 'refresh token reused');
    }
    return won;
  }

  /** Client credentials: the client acts for itself, in its workspace, with its own scopes. */
  async getUserFromClient(client: ModelClient): Promise<GrantHolder> {
    const holder: GrantHolder = {
      kind: 'client',
      id: client.id,
      workspaceId: client.workspaceId,
      scopes: client.scopes,
    };
    // One access token and no refresh token: the grant ends when the token does.
    const expiresAt = new Date(Date.now() + this.settings.accessTokenLifetimeSeconds * 1000);
    const grant = await this.newGrant(holder, client, client.scopes, expiresAt);
    return { ...holder, grantId: grant._id };
  }

  /** Access tokens are JWTs checked by the gateway, never looked up here. */
  getAccessToken(): Promise<false> {
    return Promise.resolve(false);
  }

  /** Whoever an unrevoked grant is for, if they still exist. */
  async activeHolder(grantId: string): Promise<GrantHolder | undefined> {
    const grant = await this.store.activeGrant(grantId);
    if (!grant) return undefined;
    const client = await this.clients.findByClientId(grant.clientId);
    if (!client || client.workspaceId !== grant.workspaceId) return undefined;
    // What the grant gave, as far as its holder and client may still have it.
    let allowed = expand(client.scopes);
    if (grant.subject.kind === 'user') {
      const user = await this.users.findByIdForGrant(grant.subject.id);
      if (!user || user.workspaceId !== grant.workspaceId) return undefined;
      allowed = allowed.filter((scope) => expand(user.scopes).includes(scope));
    }
    const scopes = expand(grant.scopes).filter((scope) => allowed.includes(scope));
    return { ...grant.subject, workspaceId: grant.workspaceId, scopes, grantId };
  }

  private async newGrant(
    holder: GrantHolder,
    client: ModelClient,
    scopes: Scope[],
    expiresAt?: Date,
  ): Promise<GrantDocument> {
    const grant: GrantDocument = {
      _id: newId('grt'),
      workspaceId: holder.workspaceId,
      subject: { kind: holder.kind, id: holder.id },
      clientId: client.id,
      scopes,
      createdAt: new Date(),
      ...(expiresAt && { expiresAt }),
    };
    await this.store.createGrant(grant);
    return grant;
  }

  get lifetimes() {
    return {
      accessTokenLifetime: this.settings.accessTokenLifetimeSeconds,
      refreshTokenLifetime: this.settings.refreshTokenLifetimeSeconds,
      authorizationCodeLifetime: this.settings.codeLifetimeSeconds,
    };
  }
}

export function toModelClient(doc: OAuthClientDocument): ModelClient {
  return {
    id: doc._id,
    type: doc.type,
    workspaceId: doc.workspaceId,
    redirectUris: doc.redirectUris,
    grants: doc.grants,
    scopes: doc.scopes,
  };
}

function grantIdOf(holder: GrantHolder): string {
  if (!holder.grantId) throw new Error('OAuth grant holder without a grant id');
  return holder.grantId;
}

/** `admin` implies every scope. */
function expand(scopes: readonly Scope[]): Scope[] {
  return scopes.includes('admin') ? [...SCOPES] : [...scopes];
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
