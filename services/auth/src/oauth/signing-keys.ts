import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import type { Connection, mongo } from 'mongoose';
import { ACCESS_TOKEN_AUDIENCE, type Jwks } from '@cloudflow/contracts';
import { SecretBox, databaseOf, isDuplicateKeyError } from '@cloudflow/persistence';

interface SigningKeyDocument {
  /** The key id (`kid`). */
  _id: string;
  publicJwk: JWK;
  /** The private JWK, sealed with CLOUDFLOW_SECRET_KEY. */
  sealedPrivateJwk: string;
  createdAt: Date;
}

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
const SEAL_PURPOSE = 'oauth-signing-key';

export interface AccessTokenClaims {
  subject: string;
  workspaceId: string;
  clientId: string;
  grantId: string;
  scopes: string[];
}

/**
 * The ES256 key access tokens are signed with. The first auth replica to
 * start creates it (a unique insert; racing replicas end up on the oldest
 * key), sealed at rest; all public keys are published as the JWKS.
 */
@Injectable()
export class SigningKeys implements OnModuleInit {
  private readonly logger = new Logger(SigningKeys.name);
  private readonly keys: mongo.Collection<SigningKeyDocument>;
  private current: { kid: string; privateKey: Awaited<ReturnType<typeof importJWK>> } | undefined;

  constructor(
    @InjectConnection() connection: Connection,
    @Inject(OAUTH_SETTINGS) private readonly settings: OAuthSettings,
  ) {
    this.keys = databaseOf(connection).collection('oauth_signing_keys');
  }

  async onModuleInit(): Promise<void> {
    let stored = await this.oldest();
    if (!stored) {
      await this.create();
      stored = await this.oldest();
    }
    if (!stored) throw new Error('no OAuth signing key after creating one');
    let jwk: JWK;
    try {
      jwk = JSON.parse(this.settings.secretBox.open(stored.sealedPrivateJwk, SEAL_PURPOSE)) as JWK;
    } catch {
      throw new Error(
        `the stored OAuth signing key ${stored._id} cannot be opened with CLOUDFLOW_SECRET_KEY; ` +
          'it must be the key the signing key was sealed with',
      );
    }
    this.current = { kid: stored._id, privateKey: await importJWK(jwk, ALG) };
    this.logger.log({ kid: stored._id }, 'OAuth signing key loaded');
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
    const all = await this.keys.find({}, { sort: { createdAt: 1 } }).toArray();
    return {
      issuer: this.settings.issuer,
      keys: all.map((key) => ({ ...key.publicJwk, kid: key._id, alg: ALG, use: 'sig' })),
    };
  }

  private oldest(): Promise<SigningKeyDocument | null> {
    return this.keys.findOne({}, { sort: { createdAt: 1, _id: 1 } });
  }

  private async create(): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const doc: SigningKeyDocument = {
      _id: `k_${randomUUID()}`,
      publicJwk: await exportJWK(publicKey),
      sealedPrivateJwk: this.settings.secretBox.seal(
        JSON.stringify(await exportJWK(privateKey)),
        SEAL_PURPOSE,
      ),
      createdAt: new Date(),
    };
    try {
      await this.keys.insertOne(doc);
      this.logger.log({ kid: doc._id }, 'OAuth signing key created');
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
}
