import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { databaseOf } from '@cloudflow/persistence';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { OAuthStore, sha256, type GrantDocument } from './oauth.store';

const DAY = 86_400_000;

const secret = (): string => randomBytes(32).toString('base64url');

/**
 * The OAuth server's state on a real MongoDB-wire server (FerretDB here,
 * which makes only unique `_id` inserts atomic): every "only once" must hold
 * when requests race.
 */
describe('OAuthStore on a real MongoDB-wire server', () => {
  let connection: Connection;
  let store: OAuthStore;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_oauth')))
      .asPromise();
    store = new OAuthStore(connection);
    await store.onModuleInit();
  });

  afterAll(async () => {
    store.onModuleDestroy();
    await connection.dropDatabase();
    await connection.close();
  });

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  function aGrant(): GrantDocument {
    return {
      _id: uniqueName('grant'),
      workspaceId: 'ws_a',
      subject: { kind: 'user', id: 'usr_1' },
      clientId: 'cli_1',
      scopes: ['read'],
      createdAt: new Date(),
    };
  }

  const codeDoc = (grantId: string, expiresAt = new Date(Date.now() + 60_000)) => ({
    grantId,
    clientId: 'cli_1',
    redirectUri: 'https://app.example/callback',
    scopes: ['read' as const],
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    expiresAt,
  });

  const refreshDoc = (grantId: string, expiresAt = new Date(Date.now() + DAY)) => ({
    grantId,
    clientId: 'cli_1',
    scopes: ['read' as const],
    expiresAt,
    createdAt: new Date(),
  });

  const interactionDoc = (expiresAt = new Date(Date.now() + 600_000)) => ({
    params: { client_id: 'cli_1', redirect_uri: 'https://app.example/callback', state: 'xyz' },
    browserHash: sha256('browser-cookie'),
    expiresAt,
  });

  it('redeems a code exactly once when ten requests race for it', async () => {
    const code = secret();
    const other = secret();
    await store.saveCode(code, codeDoc('grant_1'));
    await store.saveCode(other, codeDoc('grant_1'));
    expect(await store.isCodeRedeemed(code)).toBe(false);

    const wins = await Promise.all(Array.from({ length: 10 }, () => store.redeemCode(code)));

    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await store.isCodeRedeemed(code)).toBe(true);
    expect(await store.redeemCode(code)).toBe(false);
    expect(await store.isCodeRedeemed(other)).toBe(false);
    expect(await store.findCode(code)).toMatchObject({
      grantId: 'grant_1',
      redirectUri: 'https://app.example/callback',
    });
  });

  it('rotates a refresh token exactly once when ten requests race for it', async () => {
    const token = secret();
    await store.saveRefreshToken(token, refreshDoc('grant_1'));
    expect(await store.isRefreshTokenRotated(token)).toBe(false);

    const wins = await Promise.all(
      Array.from({ length: 10 }, () => store.rotateRefreshToken(token)),
    );

    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await store.isRefreshTokenRotated(token)).toBe(true);
    expect(await store.rotateRefreshToken(token)).toBe(false);
    expect(await store.findRefreshToken(token)).toMatchObject({ grantId: 'grant_1' });
  });

  it('revokes a grant for good, idempotently, and leaves other grants active', async () => {
    const grant = aGrant();
    const other = aGrant();
    await store.createGrant(grant);
    await store.createGrant(other);
    expect(await store.activeGrant(grant._id)).toMatchObject({ _id: grant._id, clientId: 'cli_1' });

    await Promise.all([
      store.revokeGrant(grant._id, 'code reuse'),
      store.revokeGrant(grant._id, 'code reuse'),
    ]);
    await store.revokeGrant(grant._id, 'refresh token reuse');

    expect(await store.activeGrant(grant._id)).toBeNull();
    expect(await store.activeGrant(other._id)).toMatchObject({ _id: other._id });
    expect(await store.activeGrant('grant_unknown')).toBeNull();
    // One revocation recorded and announced, with the first reason.
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      { grantId: grant._id, reason: 'code reuse' },
      'OAuth grant revoked',
    );
  });

  it('records one sign-in and one consent decision per interaction', async () => {
    const interaction = secret();
    await store.saveInteraction(interaction, interactionDoc());

    const wins = await Promise.all(
      ['usr_1', 'usr_2', 'usr_3', 'usr_4', 'usr_5'].map((user) =>
        store.recordSignIn(interaction, user),
      ),
    );

    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = ['usr_1', 'usr_2', 'usr_3', 'usr_4', 'usr_5'][wins.indexOf(true)];
    expect(await store.signedInUser(interaction)).toBe(winner);
    expect(await store.recordSignIn(interaction, 'usr_6')).toBe(false);
    expect(await store.signedInUser(interaction)).toBe(winner);
    expect(await store.signedInUser(secret())).toBeUndefined();

    const decisions = await Promise.all([1, 2, 3].map(() => store.recordDecision(interaction)));
    expect(decisions.filter(Boolean)).toHaveLength(1);
  });

  it('stores codes, refresh tokens and interactions only under the SHA-256 of the secret', async () => {
    const code = secret();
    const token = secret();
    const interaction = secret();
    await store.saveCode(code, codeDoc('grant_2'));
    await store.saveRefreshToken(token, refreshDoc('grant_2'));
    await store.saveInteraction(interaction, interactionDoc());
    await store.redeemCode(code);
    await store.rotateRefreshToken(token);
    await store.recordSignIn(interaction, 'usr_1');
    await store.recordDecision(interaction);

    const db = databaseOf(connection);
    const everything: string[] = [];
    for (const { name } of await db.listCollections().toArray()) {
      for (const doc of await db.collection(name).find({}).toArray()) {
        everything.push(JSON.stringify(doc));
      }
    }
    const stored = everything.join('\n');
    for (const plaintext of [code, token, interaction]) {
      expect(stored).not.toContain(plaintext);
      expect(stored).toContain(sha256(plaintext));
    }
    expect(
      await db.collection('oauth_codes').findOne({ _id: sha256(code) as never }),
    ).not.toBeNull();
    // And the secret still finds its record.
    expect(await store.findCode(code)).toMatchObject({ grantId: 'grant_2' });
    expect(await store.findRefreshToken(token)).toMatchObject({ grantId: 'grant_2' });
    expect(await store.findInteraction(interaction)).toMatchObject({
      params: { state: 'xyz' },
      browserHash: sha256('browser-cookie'),
    });
  });

  it('sweeps only what expired more than a day ago, with its one-time records', async () => {
    const now = Date.now();
    const longAgo = new Date(now - DAY - 60_000);
    const recently = new Date(now - 60_000);
    const later = new Date(now + 60_000);

    const codes = { old: secret(), recent: secret(), live: secret() };
    const tokens = { old: secret(), recent: secret(), live: secret() };
    const interactions = { old: secret(), recent: secret(), live: secret() };
    const expiries = { old: longAgo, recent: recently, live: later };
    for (const age of ['old', 'recent', 'live'] as const) {
      await store.saveCode(codes[age], codeDoc('grant_3', expiries[age]));
      await store.redeemCode(codes[age]);
      await store.saveRefreshToken(tokens[age], refreshDoc('grant_3', expiries[age]));
      await store.rotateRefreshToken(tokens[age]);
      await store.saveInteraction(interactions[age], interactionDoc(expiries[age]));
      await store.recordSignIn(interactions[age], 'usr_1');
      await store.recordDecision(interactions[age]);
    }

    for (const [id, expiresAt] of [
      ['grant_cc_old', longAgo],
      ['grant_cc_live', later],
      ['grant_code', undefined],
    ] as const) {
      await store.createGrant({
        _id: id,
        workspaceId: 'ws_1',
        subject: { kind: 'client', id: 'cli_1' },
        clientId: 'cli_1',
        scopes: ['read'],
        createdAt: new Date(now - 2 * DAY),
        ...(expiresAt && { expiresAt }),
      });
    }
    await store.revokeGrant('grant_cc_old', 'test');
    await store.sweep(now);
    expect(
      await databaseOf(connection)
        .collection('oauth_grant_revocations')
        .countDocuments({ _id: 'grant_cc_old' as never }),
    ).toBe(0);

    expect(await store.findCode(codes.old)).toBeNull();
    expect(await store.isCodeRedeemed(codes.old)).toBe(false);
    expect(await store.findRefreshToken(tokens.old)).toBeNull();
    expect(await store.isRefreshTokenRotated(tokens.old)).toBe(false);
    expect(await store.findInteraction(interactions.old)).toBeNull();
    expect(await store.signedInUser(interactions.old)).toBeUndefined();
    expect(await store.recordDecision(interactions.old)).toBe(true);

    // A client-credentials grant long past its token is gone, revocation and all.
    expect(await store.activeGrant('grant_cc_old')).toBeNull();
    expect(await store.activeGrant('grant_cc_live')).not.toBeNull();
    expect(await store.activeGrant('grant_code')).not.toBeNull();

    for (const age of ['recent', 'live'] as const) {
      expect(await store.findCode(codes[age])).not.toBeNull();
      expect(await store.isCodeRedeemed(codes[age])).toBe(true);
      expect(await store.findRefreshToken(tokens[age])).not.toBeNull();
      expect(await store.isRefreshTokenRotated(tokens[age])).toBe(true);
      expect(await store.findInteraction(interactions[age])).not.toBeNull();
      expect(await store.signedInUser(interactions[age])).toBe('usr_1');
      expect(await store.recordDecision(interactions[age])).toBe(false);
    }
  });
});
