import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Connection } from 'mongoose';
import { ACCESS_TOKEN_AUDIENCE, type Jwks } from '@cloudflow/contracts';
import {
  OAUTH_SIGNING_KEYS,
  SealedKeyPairs,
  databaseOf,
  type LoadedKeyPair,
  type SecretBox,
} from '@cloudflow/persistence';

export const OAUTH_SETTINGS = Symbol('OAUTH_SETTINGS');

export interface OAuthSettings {
  /** The `iss` of every token: the public URL of the API. */
  issuer: string;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds: number;
  codeLifetimeSeconds: number;
  secretBox: SecretBox;
}

const ALG = 'ES256';

export interface AccessTokenClaims {
  subject: string;
  workspaceId: string;
  clientId: string;
  grantId: string;
  scopes: string[];
}

/**
 * The ES256 key access tokens are signed with: created by the first auth
 * replica, sealed at rest, every public key published as the JWKS.
 */
@Injectable()
export class SigningKeys implements OnModuleInit {
  private readonly logger = new Logger(SigningKeys.name);
  private readonly keys: SealedKeyPairs;
  private current: LoadedKeyPair | undefined;

  constructor(
    @InjectConnection() connection: Connection,
    @Inject(OAUTH_SETTINGS) private readonly settings: OAuthSettings,
  ) {
    this.keys = new SealedKeyPairs(
      databaseOf(connection),
      OAUTH_SIGNING_KEYS,
      settings.secretBox,
      ALG,
    );
  }

  async onModuleInit(): Promise<void> {
    this.current = await this.keys.current();
    this.logger.log({ kid: this.current.kid }, 'OAuth signing key loaded');
  }

  async sign(claims: AccessTokenClaims, now = new Date()): Promise<string> {
    if (!this.current) throw new Error('OAuth signing key not loaded');
    const issuedAt = Math.floor(now.getTime() / 1000);
    return new SignJWT({
      ws: claims.workspaceId,
      client_id: claims.clientId,
      gid: claims.grantId,
      scope: claims.scopes.join(' '),
    })
      .setProtectedHeader({ alg: ALG, kid: this.current.kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject(claims.subject)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.settings.accessTokenLifetimeSeconds)
      .sign(this.current.privateKey);
  }

  /** The claims of an access token this server signed and that has not expired, or undefined. */
  async verify(token: string): Promise<{ clientId: string; grantId: string } | undefined> {
    try {
      const { payload } = await jwtVerify(
        token,
        createLocalJWKSet((await this.jwks()) as unknown as JSONWebKeySet),
        { issuer: this.settings.issuer, audience: ACCESS_TOKEN_AUDIENCE, algorithms: [ALG] },
      );
      const { client_id: clientId, gid: grantId } = payload;
      return typeof clientId === 'string' && typeof grantId === 'string'
        ? { clientId, grantId }
        : undefined;
    } catch {
      return undefined;
    }
  }

  async jwks(): Promise<Jwks> {
    return { issuer: this.settings.issuer, keys: await this.keys.publicKeys('sig') };
  }
}
