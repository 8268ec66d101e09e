import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection, mongo } from 'mongoose';
import { sha256Hex, type Scope } from '@cloudflow/contracts';
import { databaseOf, isDuplicateKeyError } from '@cloudflow/persistence';

/** Who a grant was given to: a user (authorization code) or a client itself (client credentials). */
export interface GrantSubject {
  kind: 'user' | 'client';
  id: string;
}

/**
 * One authorization: everything issued from one code (or one client
 * credentials request) belongs to it — the refresh-token family and every
 * access token. Revoking the grant revokes them all.
 */
export interface GrantDocument {
  _id: string;
  workspaceId: string;
  subject: GrantSubject;
  clientId: string;
  scopes: Scope[];
  createdAt: Date;
  /**
   * When nothing issued from the grant can be valid any more: set for client
   * credentials (one access token, no refresh); a code's grant lives as long
   * as its refresh tokens keep rotating, so it has none.
   */
  expiresAt?: Date;
}

export interface CodeDocument {
  /** SHA-256 of the code. */
  _id: string;
  grantId: string;
  clientId: string;
  redirectUri: string;
  /** Whether the authorization request named the redirect URI (then the token request must). */
  redirectUriSent?: boolean;
  scopes: Scope[];
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresAt: Date;
}

export interface RefreshTokenDocument {
  /** SHA-256 of the token. */
  _id: string;
  grantId: string;
  clientId: string;
  scopes: Scope[];
  expiresAt: Date;
  createdAt: Date;
}

/** A sign-in in progress: the authorization request, bound to the browser that made it. */
export interface InteractionDocument {
  /** SHA-256 of the interaction id the pages carry. */
  _id: string;
  params: Record<string, string>;
  /** SHA-256 of the cookie that binds the interaction to one browser. */
  browserHash: string;
  expiresAt: Date;
}

/** A one-time event, recorded by a unique insert: `_id` is what happened to, once. */
interface OnceDocument {
  _id: string;
  userId?: string;
  reason?: string;
  at: Date;
}

/** Secrets are stored under their SHA-256 (256-bit random values: no salt or stretching needed). */
export const sha256 = sha256Hex;

const SWEEP_INTERVAL_MS = 15 * 60_000;

/**
 * The OAuth server's state. Every "only once" (a code redeemed, a refresh
 * token rotated, a sign-in completed, a grant revoked) is a unique insert,
 * the one atomic step MongoDB and FerretDB both honour (ADR 0003): of two
 * racing redemptions exactly one succeeds, and the other is seen as reuse.
 * Secrets are stored only as SHA-256; they are 256-bit random values.
 */
@Injectable()
export class OAuthStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OAuthStore.name);
  private readonly grants: mongo.Collection<GrantDocument>;
  private readonly revocations: mongo.Collection<OnceDocument>;
  private readonly codes: mongo.Collection<CodeDocument>;
  private readonly codeUses: mongo.Collection<OnceDocument>;
  private readonly refreshTokens: mongo.Collection<RefreshTokenDocument>;
  private readonly refreshUses: mongo.Collection<OnceDocument>;
  private readonly interactions: mongo.Collection<InteractionDocument>;
  private readonly signIns: mongo.Collection<OnceDocument>;
  private readonly decisions: mongo.Collection<OnceDocument>;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(@InjectConnection() connection: Connection) {
    const db = databaseOf(connection);
    this.grants = db.collection('oauth_grants');
    this.revocations = db.collection('oauth_grant_revocations');
    this.codes = db.collection('oauth_codes');
    this.codeUses = db.collection('oauth_code_uses');
    this.refreshTokens = db.collection('oauth_refresh_tokens');
    this.refreshUses = db.collection('oauth_refresh_uses');
    this.interactions = db.collection('oauth_interactions');
    this.signIns = db.collection('oauth_sign_ins');
    this.decisions = db.collection('oauth_decisions');
  }

  async onModuleInit(): Promise<void> {
    await Promise.all([
      this.codes.createIndex({ expiresAt: 1 }),
      this.refreshTokens.createIndex({ expiresAt: 1 }),
      this.interactions.createIndex({ expiresAt: 1 }),
      this.grants.createIndex({ expiresAt: 1 }),
    ]);
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  // Grants

  async createGrant(grant: GrantDocument): Promise<void> {
    await this.grants.insertOne(grant);
  }

  /** The grant, unless revoked. */
  async activeGrant(grantId: string): Promise<GrantDocument | null> {
    const [grant, revoked] = await Promise.all([
      this.grants.findOne({ _id: grantId }),
      this.revocations.findOne({ _id: grantId }),
    ]);
    return grant && !revoked ? grant : null;
  }

  /** Revokes a grant and with it every token issued from it; idempotent. */
  async revokeGrant(grantId: string, reason: string): Promise<void> {
    if (await this.once(this.revocations, grantId, { reason })) {
      this.logger.warn({ grantId, reason }, 'OAuth grant revoked');
    }
  }

  // Authorization codes

  async saveCode(code: string, doc: Omit<CodeDocument, '_id'>): Promise<void> {
    await this.codes.insertOne({ _id: sha256(code), ...doc });
  }

  findCode(code: string): Promise<CodeDocument | null> {
    return this.codes.findOne({ _id: sha256(code) });
  }

  isCodeRedeemed(code: string): Promise<boolean> {
    return this.exists(this.codeUses, sha256(code));
  }

  /** True for the one redemption that wins; false for any other. */
  redeemCode(code: string): Promise<boolean> {
    return this.once(this.codeUses, sha256(code));
  }

  // Refresh tokens

  async saveRefreshToken(token: string, doc: Omit<RefreshTokenDocument, '_id'>): Promise<void> {
    await this.refreshTokens.insertOne({ _id: sha256(token), ...doc });
  }

  findRefreshToken(token: string): Promise<RefreshTokenDocument | null> {
    return this.refreshTokens.findOne({ _id: sha256(token) });
  }

  isRefreshTokenRotated(token: string): Promise<boolean> {
    return this.exists(this.refreshUses, sha256(token));
  }

  /** True for the one rotation that wins; false if the token was used before. */
  rotateRefreshToken(token: string): Promise<boolean> {
    return this.once(this.refreshUses, sha256(token));
  }

  // Sign-in interactions

  async saveInteraction(id: string, doc: Omit<InteractionDocument, '_id'>): Promise<void> {
    await this.interactions.insertOne({ _id: sha256(id), ...doc });
  }

  findInteraction(id: string): Promise<InteractionDocument | null> {
    return this.interactions.findOne({ _id: sha256(id) });
  }

  /** Records who signed in to the interaction; false if someone already did. */
  recordSignIn(id: string, userId: string): Promise<boolean> {
    return this.once(this.signIns, sha256(id), { userId });
  }

  async signedInUser(id: string): Promise<string | undefined> {
    return (await this.signIns.findOne({ _id: sha256(id) }))?.userId;
  }

  /** The consent answer is given once per interaction. */
  recordDecision(id: string): Promise<boolean> {
    return this.once(this.decisions, sha256(id));
  }

  /** Deletes what has expired for a day: by then no reuse of it can matter. */
  async sweep(now = Date.now()): Promise<void> {
    const before = { expiresAt: { $lt: new Date(now - 86_400_000) } };
    try {
      const [codes, tokens, interactions, grants] = await Promise.all([
        this.codes.find(before, { projection: { _id: 1 } }).toArray(),
        this.refreshTokens.find(before, { projection: { _id: 1 } }).toArray(),
        this.interactions.find(before, { projection: { _id: 1 } }).toArray(),
        this.grants.find(before, { projection: { _id: 1 } }).toArray(),
      ]);
      const ids = (docs: { _id: string }[]) => ({ _id: { $in: docs.map((d) => d._id) } });
      await Promise.all([
        this.codeUses.deleteMany(ids(codes)),
        this.codes.deleteMany(ids(codes)),
        this.refreshUses.deleteMany(ids(tokens)),
        this.refreshTokens.deleteMany(ids(tokens)),
        this.signIns.deleteMany(ids(interactions)),
        this.decisions.deleteMany(ids(interactions)),
        this.interactions.deleteMany(ids(interactions)),
        this.revocations.deleteMany(ids(grants)),
        this.grants.deleteMany(ids(grants)),
      ]);
    } catch (error) {
      this.logger.warn({ err: error }, 'sweeping expired OAuth records failed; will retry');
    }
  }

  private async once(
    collection: mongo.Collection<OnceDocument>,
    id: string,
    extra: Omit<OnceDocument, '_id' | 'at'> = {},
  ): Promise<boolean> {
    try {
      await collection.insertOne({ _id: id, ...extra, at: new Date() });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  private async exists(collection: mongo.Collection<OnceDocument>, id: string): Promise<boolean> {
    return (await collection.countDocuments({ _id: id }, { limit: 1 })) > 0;
  }
}
