import OAuth2Server, { InvalidRequestError } from '@node-oauth/oauth2-server';
import { createHash } from 'node:crypto';
import type { Scope } from '@cloudflow/contracts';
import type { OAuthClientDocument } from '../oauth-clients/oauth-client.schema';
import type { OAuthClientsRepository } from '../oauth-clients/oauth-clients.repository';
import type { UserDocument } from '../users/user.schema';
import type { UsersRepository } from '../users/users.repository';
import { OAuthModel, toModelClient, type GrantHolder, type ModelClient } from './oauth.model';
import {
  sha256,
  type CodeDocument,
  type GrantDocument,
  type OAuthStore,
  type RefreshTokenDocument,
} from './oauth.store';
import type { AccessTokenClaims, OAuthSettings, SigningKeys } from './signing-keys';

const WEB_SECRET = 'cfs_the-one-true-secret-of-the-web-app';

/**
 * The store in memory, keyed like the real one by SHA-256, with its "only
 * once" semantics: the first redemption/rotation/revocation wins, later ones
 * do not.
 */
class FakeOAuthStore {
  readonly grants = new Map<string, GrantDocument>();
  /** grantId → the reason of the first revocation. */
  readonly revocations = new Map<string, string>();
  private readonly codes = new Map<string, CodeDocument>();
  private readonly codeUses = new Set<string>();
  private readonly refreshTokens = new Map<string, RefreshTokenDocument>();
  private readonly refreshUses = new Set<string>();

  createGrant(grant: GrantDocument): Promise<void> {
    if (this.grants.has(grant._id)) return Promise.reject(new Error('duplicate grant'));
    this.grants.set(grant._id, structuredClone(grant));
    return Promise.resolve();
  }

  activeGrant(grantId: string): Promise<GrantDocument | null> {
    const grant = this.grants.get(grantId);
    return Promise.resolve(grant && !this.revocations.has(grantId) ? structuredClone(grant) : null);
  }

  revokeGrant(grantId: string, reason: string): Promise<void> {
    if (!this.revocations.has(grantId)) this.revocations.set(grantId, reason);
    return Promise.resolve();
  }

  saveCode(code: string, doc: Omit<CodeDocument, '_id'>): Promise<void> {
    this.codes.set(sha256(code), { _id: sha256(code), ...doc });
    return Promise.resolve();
  }

  findCode(code: string): Promise<CodeDocument | null> {
    return Promise.resolve(this.codes.get(sha256(code)) ?? null);
  }

  isCodeRedeemed(code: string): Promise<boolean> {
    return Promise.resolve(this.codeUses.has(sha256(code)));
  }

  redeemCode(code: string): Promise<boolean> {
    return Promise.resolve(once(this.codeUses, sha256(code)));
  }

  saveRefreshToken(token: string, doc: Omit<RefreshTokenDocument, '_id'>): Promise<void> {
    this.refreshTokens.set(sha256(token), { _id: sha256(token), ...doc });
    return Promise.resolve();
  }

  findRefreshToken(token: string): Promise<RefreshTokenDocument | null> {
    return Promise.resolve(this.refreshTokens.get(sha256(token)) ?? null);
  }

  isRefreshTokenRotated(token: string): Promise<boolean> {
    return Promise.resolve(this.refreshUses.has(sha256(token)));
  }

  rotateRefreshToken(token: string): Promise<boolean> {
    return Promise.resolve(once(this.refreshUses, sha256(token)));
  }
}

function once(uses: Set<string>, id: string): boolean {
  if (uses.has(id)) return false;
  uses.add(id);
  return true;
}

class FakeClients {
  readonly docs = new Map<string, OAuthClientDocument>();
  findByClientId(clientId: string): Promise<OAuthClientDocument | null> {
    return Promise.resolve(this.docs.get(clientId) ?? null);
  }
}

class FakeUsers {
  readonly docs = new Map<string, UserDocument>();
  findByIdForGrant(userId: string): Promise<UserDocument | null> {
    return Promise.resolve(this.docs.get(userId) ?? null);
  }
}

/** Signs nothing: the "token" is the claims as JSON, so a test can read them back. */
class FakeSigningKeys {
  readonly sign = jest.fn((claims: AccessTokenClaims) => Promise.resolve(JSON.stringify(claims)));
}

function clientDoc(overrides: Partial<OAuthClientDocument> = {}): OAuthClientDocument {
  return {
    _id: 'cli_web',
    workspaceId: 'ws_acme',
    name: 'Web dashboard',
    type: 'confidential',
    redirectUris: ['https://app.example.com/callback', 'http://localhost:8080/cb'],
    grants: ['authorization_code', 'refresh_token', 'client_credentials'],
    scopes: ['read', 'write'],
    secretHash: sha256(WEB_SECRET),
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    ...overrides,
  };
}

const PUBLIC_CLIENT = clientDoc({
  _id: 'cli_cli',
  name: 'Command line',
  type: 'public',
  redirectUris: ['http://127.0.0.1:8765/callback'],
  grants: ['authorization_code', 'refresh_token'],
  secretHash: undefined,
});

function userDoc(overrides: Partial<UserDocument> = {}): UserDocument {
  return {
    _id: 'usr_alice',
    workspaceId: 'ws_acme',
    username: 'alice',
    passwordHash: '$argon2id$not-a-real-hash',
    scopes: ['read', 'write'],
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    ...overrides,
  };
}

function alice(scopes: Scope[] = ['read', 'write']): GrantHolder {
  return { kind: 'user', id: 'usr_alice', workspaceId: 'ws_acme', scopes };
}

function modelClient(overrides: Partial<OAuthClientDocument> = {}): ModelClient {
  return toModelClient(clientDoc(overrides));
}

function setup() {
  const store = new FakeOAuthStore();
  const clients = new FakeClients();
  const users = new FakeUsers();
  const keys = new FakeSigningKeys();
  const settings = {
    issuer: 'https://api.cloudflow.test',
    accessTokenLifetimeSeconds: 900,
    refreshTokenLifetimeSeconds: 30 * 86_400,
    codeLifetimeSeconds: 60,
  } as OAuthSettings;
  clients.docs.set('cli_web', clientDoc());
  clients.docs.set(PUBLIC_CLIENT._id, PUBLIC_CLIENT);
  users.docs.set('usr_alice', userDoc());
  const model = new OAuthModel(
    store as unknown as OAuthStore,
    clients as unknown as OAuthClientsRepository,
    users as unknown as UsersRepository,
    keys as unknown as SigningKeys,
    settings,
  );
  return { model, store, clients, users, keys };
}

type Setup = ReturnType<typeof setup>;

/** A code as the library hands it to the model once the user consented. */
function newCode(code: string, overrides: Partial<OAuth2Server.AuthorizationCode> = {}) {
  return {
    authorizationCode: code,
    expiresAt: new Date(Date.now() + 60_000),
    redirectUri: 'https://app.example.com/callback',
    scope: ['read'],
    ...overrides,
  };
}

/** Issues a code for alice through the web client; answers its grant id. */
async function issueCode({ model }: Setup, code: string): Promise<string> {
  const saved = await model.saveAuthorizationCode(newCode(code), modelClient(), alice());
  return (saved.user as GrantHolder).grantId!;
}

/** Saves a refresh token as the library does after issuing tokens for a grant. */
async function issueRefreshToken({ model }: Setup, grantId: string, refreshToken: string) {
  await model.saveToken(
    {
      accessToken: 'at',
      refreshToken,
      refreshTokenExpiresAt: new Date(Date.now() + 86_400_000),
      scope: ['read'],
      client: modelClient(),
      user: { ...alice(), grantId },
    },
    modelClient(),
    { ...alice(), grantId },
  );
}

describe('OAuthModel', () => {
  describe('getClient', () => {
    it('knows no client that is not registered', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_nobody', WEB_SECRET)).resolves.toBe(false);
      await expect(model.getClient('cli_nobody', null)).resolves.toBe(false);
    });

    it('answers a confidential client presenting its secret', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_web', WEB_SECRET)).resolves.toEqual({
        id: 'cli_web',
        type: 'confidential',
        workspaceId: 'ws_acme',
        redirectUris: ['https://app.example.com/callback', 'http://localhost:8080/cb'],
        grants: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes: ['read', 'write'],
      });
    });

    it('refuses a confidential client presenting a wrong secret', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_web', 'cfs_guessed')).resolves.toBe(false);
      await expect(model.getClient('cli_web', '')).resolves.toBe(false);
      await expect(model.getClient('cli_web', sha256(WEB_SECRET))).resolves.toBe(false);
    });

    it('refuses a confidential client that sends no secret to the token endpoint', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_web', undefined)).resolves.toBe(false);
    });

    it('answers a confidential client at the authorization endpoint, where no secret is asked', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_web', null)).resolves.toMatchObject({ id: 'cli_web' });
    });

    it('answers a public client that sends no secret', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_cli', undefined)).resolves.toMatchObject({
        id: 'cli_cli',
        type: 'public',
      });
      await expect(model.getClient('cli_cli', null)).resolves.toMatchObject({ id: 'cli_cli' });
    });

    it('refuses a public client that presents a secret it does not have', async () => {
      const { model } = setup();

      await expect(model.getClient('cli_cli', 'cfs_made-up')).resolves.toBe(false);
    });
  });

  describe('validateRedirectUri', () => {
    it('accepts a registered redirect URI exactly as registered', async () => {
      const { model } = setup();

      await expect(
        model.validateRedirectUri('https://app.example.com/callback', modelClient()),
      ).resolves.toBe(true);
      await expect(
        model.validateRedirectUri('http://localhost:8080/cb', modelClient()),
      ).resolves.toBe(true);
    });

    it.each([
      ['with a trailing slash', 'https://app.example.com/callback/'],
      ['with an extra query', 'https://app.example.com/callback?next=/admin'],
      ['on another port', 'http://localhost:8081/cb'],
      ['on another scheme', 'http://app.example.com/callback'],
      ['on another host', 'https://app.example.com.evil.test/callback'],
      ['with a fragment', 'https://app.example.com/callback#x'],
    ])('refuses a redirect URI %s', async (_case, redirectUri) => {
      const { model } = setup();

      await expect(model.validateRedirectUri(redirectUri, modelClient())).resolves.toBe(false);
    });
  });

  describe('validateRedirectUri of a public client on the loopback (RFC 8252 7.3)', () => {
    const cli = () =>
      modelClient({
        _id: 'cli_loopback',
        type: 'public',
        redirectUris: ['http://127.0.0.1/callback', 'http://localhost/cb'],
        secretHash: undefined,
      });

    it('accepts the registered loopback IP URI on any port', async () => {
      const { model } = setup();

      await expect(
        model.validateRedirectUri('http://127.0.0.1:51234/callback', cli()),
      ).resolves.toBe(true);
    });

    it.each([
      ['another path', 'http://127.0.0.1:51234/other'],
      ['another scheme', 'https://127.0.0.1:51234/callback'],
      ['another host', 'http://[::1]:51234/callback'],
      ['localhost on another port', 'http://localhost:51234/cb'],
    ])('refuses %s', async (_case, redirectUri) => {
      const { model } = setup();

      await expect(model.validateRedirectUri(redirectUri, cli())).resolves.toBe(false);
    });

    it('refuses another port for a confidential client', async () => {
      const { model } = setup();
      const confidential = modelClient({ redirectUris: ['http://127.0.0.1/callback'] });

      await expect(
        model.validateRedirectUri('http://127.0.0.1:51234/callback', confidential),
      ).resolves.toBe(false);
    });
  });

  describe('a loopback sign-in through the library, authorize to token', () => {
    const LOOPBACK_CLIENT = clientDoc({
      _id: 'cli_loopback',
      name: 'cloudflow CLI',
      type: 'public',
      redirectUris: ['http://127.0.0.1/callback'],
      grants: ['authorization_code', 'refresh_token'],
      secretHash: undefined,
    });
    const verifier = 'the-verifier-of-this-sign-in-0123456789-abcdefgh';
    const challenge = createHash('sha256').update(verifier).digest('base64url');

    /** The library configured as AuthorizationService configures it. */
    function server(model: OAuthModel): OAuth2Server {
      return new OAuth2Server({
        model,
        ...model.lifetimes,
        allowEmptyState: true,
        requireClientAuthentication: { authorization_code: false, refresh_token: false },
        alwaysIssueNewRefreshToken: true,
      });
    }

    /** What consent does: the library issues the code and the redirect. */
    async function authorize(oauth: OAuth2Server, redirectUri: string): Promise<URL> {
      const response = new OAuth2Server.Response({ headers: {} });
      await oauth.authorize(
        new OAuth2Server.Request({
          method: 'POST',
          headers: {},
          query: {},
          body: {
            response_type: 'code',
            client_id: LOOPBACK_CLIENT._id,
            redirect_uri: redirectUri,
            state: 'st',
            code_challenge: challenge,
            code_challenge_method: 'S256',
          },
        }),
        response,
        { authenticateHandler: { handle: () => alice() } } as OAuth2Server.AuthorizeOptions,
      );
      return new URL(response.get('location') as string);
    }

    function token(oauth: OAuth2Server, code: string, redirectUri: string) {
      return oauth.token(
        new OAuth2Server.Request({
          method: 'POST',
          query: {},
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '1' },
          body: {
            grant_type: 'authorization_code',
            code,
            client_id: LOOPBACK_CLIENT._id,
            redirect_uri: redirectUri,
            code_verifier: verifier,
          },
        }),
        new OAuth2Server.Response({ headers: {} }),
      );
    }

    it('sends the code to the port the CLI listens on, and redeems it there', async () => {
      const setupResult = setup();
      setupResult.clients.docs.set(LOOPBACK_CLIENT._id, LOOPBACK_CLIENT);
      const oauth = server(setupResult.model);

      const back = await authorize(oauth, 'http://127.0.0.1:51234/callback');
      expect(`${back.origin}${back.pathname}`).toBe('http://127.0.0.1:51234/callback');
      const tokens = await token(
        oauth,
        back.searchParams.get('code')!,
        'http://127.0.0.1:51234/callback',
      );

      expect(tokens.accessToken).toBeTruthy();
      expect(tokens.refreshToken).toMatch(/^cfr_/);
    });

    it.each([
      ['another port', 'http://127.0.0.1:51235/callback'],
      ['the URI as registered', 'http://127.0.0.1/callback'],
    ])(
      'refuses a token request naming %s, not the URI the authorization request used',
      async (_case, redirectUri) => {
        const setupResult = setup();
        setupResult.clients.docs.set(LOOPBACK_CLIENT._id, LOOPBACK_CLIENT);
        const oauth = server(setupResult.model);
        const back = await authorize(oauth, 'http://127.0.0.1:51234/callback');

        await expect(
          token(oauth, back.searchParams.get('code')!, redirectUri),
        ).rejects.toMatchObject({
          name: 'invalid_request',
          message: expect.stringContaining('redirect_uri'),
        });
      },
    );
  });

  describe('validateScope', () => {
    it('grants by default everything both the user and the client allow', async () => {
      const { model } = setup();

      await expect(
        model.validateScope(alice(['read', 'write']), modelClient({ scopes: ['read'] })),
      ).resolves.toEqual(['read']);
      await expect(
        model.validateScope(alice(['read']), modelClient({ scopes: ['read', 'write'] })),
      ).resolves.toEqual(['read']);
      await expect(
        model.validateScope(alice(['read', 'write']), modelClient({ scopes: ['read', 'write'] })),
      ).resolves.toEqual(['read', 'write']);
    });

    it('narrows a request to what both the user and the client allow', async () => {
      const { model } = setup();

      await expect(
        model.validateScope(alice(['read', 'write']), modelClient({ scopes: ['read', 'write'] }), [
          'write',
          'admin',
        ]),
      ).resolves.toEqual(['write']);
      await expect(
        model.validateScope(alice(['read', 'write']), modelClient(), ['read']),
      ).resolves.toEqual(['read']);
    });

    it('lets `admin` on the user imply read, write and admin', async () => {
      const { model } = setup();

      await expect(
        model.validateScope(alice(['admin']), modelClient({ scopes: ['read', 'write', 'admin'] })),
      ).resolves.toEqual(['read', 'write', 'admin']);
      await expect(
        model.validateScope(alice(['admin']), modelClient({ scopes: ['read', 'write'] })),
      ).resolves.toEqual(['read', 'write']);
      await expect(
        model.validateScope(alice(['admin']), modelClient({ scopes: ['admin'] }), ['write']),
      ).resolves.toEqual(['write']);
    });

    it('refuses a request naming a scope CloudFlow does not know', async () => {
      const { model } = setup();

      await expect(
        model.validateScope(alice(), modelClient(), ['read', 'delete-everything']),
      ).resolves.toBe(false);
    });

    it('refuses when nothing asked for can be granted', async () => {
      const { model } = setup();

      await expect(
        model.validateScope(alice(['read']), modelClient({ scopes: ['write'] })),
      ).resolves.toBe(false);
      await expect(model.validateScope(alice(['read']), modelClient(), ['admin'])).resolves.toBe(
        false,
      );
    });
  });

  describe('authorization codes', () => {
    it('refuses a code for a public client that did not use PKCE', async () => {
      const { model, store } = setup();

      const saving = model.saveAuthorizationCode(
        newCode('code-public', { redirectUri: 'http://127.0.0.1:8765/callback' }),
        toModelClient(PUBLIC_CLIENT),
        alice(),
      );

      await expect(saving).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(saving).rejects.toMatchObject({ code: 400, name: 'invalid_request' });
      expect(store.grants.size).toBe(0);
      await expect(model.getAuthorizationCode('code-public')).resolves.toBe(false);
    });

    it('issues a code for a public client using PKCE, and gives the challenge back', async () => {
      const { model } = setup();
      const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

      await model.saveAuthorizationCode(
        newCode('code-pkce', {
          redirectUri: 'http://127.0.0.1:8765/callback',
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
        }),
        toModelClient(PUBLIC_CLIENT),
        alice(),
      );

      await expect(model.getAuthorizationCode('code-pkce')).resolves.toMatchObject({
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        client: { id: 'cli_cli' },
      });
    });

    it("creates a grant the returned code's user carries", async () => {
      const { model } = setup();
      const code = newCode('code-1', { scope: ['read', 'write'] });

      const saved = await model.saveAuthorizationCode(code, modelClient(), alice());
      const grantId = (saved.user as GrantHolder).grantId;

      expect(grantId).toMatch(/^grt_/);
      expect(saved).toMatchObject({ authorizationCode: 'code-1', client: { id: 'cli_web' } });
      expect(saved.user).toMatchObject({ kind: 'user', id: 'usr_alice', workspaceId: 'ws_acme' });
      await expect(model.activeHolder(grantId!)).resolves.toEqual({
        kind: 'user',
        id: 'usr_alice',
        workspaceId: 'ws_acme',
        scopes: ['read', 'write'],
        grantId,
      });
    });

    it('finds a code that was issued and not yet used', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');

      await expect(setupResult.model.getAuthorizationCode('code-1')).resolves.toMatchObject({
        authorizationCode: 'code-1',
        redirectUri: 'https://app.example.com/callback',
        scope: ['read'],
        client: { id: 'cli_web' },
        user: { id: 'usr_alice', workspaceId: 'ws_acme', grantId },
      });
      await expect(setupResult.model.getAuthorizationCode('code-unknown')).resolves.toBe(false);
    });

    it('lets a code be redeemed once; a later lookup of it revokes the grant', async () => {
      const setupResult = setup();
      const { model, store } = setupResult;
      const grantId = await issueCode(setupResult, 'code-1');
      const found = await model.getAuthorizationCode('code-1');
      if (!found) throw new Error('the fresh code was not found');

      await expect(model.revokeAuthorizationCode(found)).resolves.toBe(true);
      await expect(model.activeHolder(grantId)).resolves.toBeDefined();

      await expect(model.getAuthorizationCode('code-1')).resolves.toBe(false);
      await expect(model.activeHolder(grantId)).resolves.toBeUndefined();
      expect(store.revocations.get(grantId)).toBe('authorization code reused');
    });

    it('lets only one of two racing redemptions win, and the loser revokes the grant', async () => {
      const setupResult = setup();
      const { model } = setupResult;
      const grantId = await issueCode(setupResult, 'code-1');
      const found = await model.getAuthorizationCode('code-1');
      if (!found) throw new Error('the fresh code was not found');

      await expect(model.revokeAuthorizationCode(found)).resolves.toBe(true);
      await expect(model.revokeAuthorizationCode(found)).resolves.toBe(false);

      await expect(model.activeHolder(grantId)).resolves.toBeUndefined();
    });

    it('does not find a code whose grant was revoked', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      await setupResult.store.revokeGrant(grantId, 'test');

      await expect(setupResult.model.getAuthorizationCode('code-1')).resolves.toBe(false);
    });
  });

  describe('refresh tokens', () => {
    it('finds a saved refresh token with its grant', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      await issueRefreshToken(setupResult, grantId, 'cfr_first');

      await expect(setupResult.model.getRefreshToken('cfr_first')).resolves.toMatchObject({
        refreshToken: 'cfr_first',
        scope: ['read'],
        client: { id: 'cli_web' },
        user: { id: 'usr_alice', workspaceId: 'ws_acme', grantId },
      });
      await expect(setupResult.model.getRefreshToken('cfr_unknown')).resolves.toBe(false);
    });

    it('gives a saved refresh token the configured lifetime when the library sets none', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      const holder = { ...alice(), grantId };
      const before = Date.now();

      await setupResult.model.saveToken(
        { accessToken: 'at', refreshToken: 'cfr_default', client: modelClient(), user: holder },
        modelClient(),
        holder,
      );

      const found = await setupResult.model.getRefreshToken('cfr_default');
      if (!found) throw new Error('the saved refresh token was not found');
      const lifetime = found.refreshTokenExpiresAt!.getTime() - before;
      expect(lifetime).toBeGreaterThanOrEqual(30 * 86_400_000);
      expect(lifetime).toBeLessThan(31 * 86_400_000);
    });

    it('rotates a refresh token once; reusing it revokes the grant and all its tokens', async () => {
      const setupResult = setup();
      const { model, store } = setupResult;
      const grantId = await issueCode(setupResult, 'code-1');
      await issueRefreshToken(setupResult, grantId, 'cfr_first');
      const found = await model.getRefreshToken('cfr_first');
      if (!found) throw new Error('the fresh refresh token was not found');

      await expect(model.revokeToken(found)).resolves.toBe(true);
      await issueRefreshToken(setupResult, grantId, 'cfr_second');
      await expect(model.getRefreshToken('cfr_second')).resolves.toMatchObject({
        refreshToken: 'cfr_second',
      });

      // The rotated token comes back: someone else has it.
      await expect(model.getRefreshToken('cfr_first')).resolves.toBe(false);
      expect(store.revocations.get(grantId)).toBe('refresh token reused');
      await expect(model.getRefreshToken('cfr_second')).resolves.toBe(false);
      await expect(model.activeHolder(grantId)).resolves.toBeUndefined();
    });

    it('lets only one of two racing rotations win, and the loser revokes the grant', async () => {
      const setupResult = setup();
      const { model } = setupResult;
      const grantId = await issueCode(setupResult, 'code-1');
      await issueRefreshToken(setupResult, grantId, 'cfr_first');
      const found = await model.getRefreshToken('cfr_first');
      if (!found) throw new Error('the fresh refresh token was not found');

      await expect(model.revokeToken(found)).resolves.toBe(true);
      await expect(model.revokeToken(found)).resolves.toBe(false);

      await expect(model.activeHolder(grantId)).resolves.toBeUndefined();
      await issueRefreshToken(setupResult, grantId, 'cfr_after');
      await expect(model.getRefreshToken('cfr_after')).resolves.toBe(false);
    });

    it('leaves the grants of other codes alone when one grant is revoked', async () => {
      const setupResult = setup();
      const { model } = setupResult;
      const revoked = await issueCode(setupResult, 'code-1');
      const other = await issueCode(setupResult, 'code-2');
      await issueRefreshToken(setupResult, revoked, 'cfr_revoked');
      await issueRefreshToken(setupResult, other, 'cfr_other');
      const found = await model.getRefreshToken('cfr_revoked');
      if (!found) throw new Error('the fresh refresh token was not found');

      await model.revokeToken(found);
      await model.revokeToken(found);

      await expect(model.getRefreshToken('cfr_other')).resolves.toMatchObject({
        user: { grantId: other },
      });
    });
  });

  describe('getUserFromClient', () => {
    it("creates a grant for the client itself, with the client's scopes and workspace", async () => {
      const { model } = setup();
      const client = modelClient({ workspaceId: 'ws_acme', scopes: ['read', 'admin'] });

      const holder = await model.getUserFromClient(client);

      expect(holder).toEqual({
        kind: 'client',
        id: 'cli_web',
        workspaceId: 'ws_acme',
        scopes: ['read', 'admin'],
        grantId: expect.stringMatching(/^grt_/) as string,
      });
      // The grant stands for what the client is registered with today: the stored
      // cli_web may have read and write, so `admin` on the grant no longer counts.
      await expect(model.activeHolder(holder.grantId!)).resolves.toEqual({
        ...holder,
        scopes: ['read', 'write'],
      });
    });

    it('narrows a standing user grant to the user’s current scopes', async () => {
      const { model, users } = setup();
      const saved = await model.saveAuthorizationCode(
        newCode('code-narrowed', { scope: ['read', 'write'] }),
        modelClient(),
        alice(),
      );
      const grantId = (saved.user as GrantHolder).grantId!;
      expect((await model.activeHolder(grantId))?.scopes).toEqual(['read', 'write']);
      users.docs.set('usr_alice', userDoc({ scopes: ['read'] }));
      expect((await model.activeHolder(grantId))?.scopes).toEqual(['read']);
    });
  });

  describe('activeHolder', () => {
    it('answers whoever an unrevoked grant is for', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');

      await expect(setupResult.model.activeHolder(grantId)).resolves.toMatchObject({
        kind: 'user',
        id: 'usr_alice',
        grantId,
      });
    });

    it('answers nothing for an unknown grant', async () => {
      const { model } = setup();

      await expect(model.activeHolder('grt_unknown')).resolves.toBeUndefined();
    });

    it('answers nothing once the grant is revoked', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      await setupResult.store.revokeGrant(grantId, 'test');

      await expect(setupResult.model.activeHolder(grantId)).resolves.toBeUndefined();
    });

    it('answers nothing once the user is deleted', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      setupResult.users.docs.delete('usr_alice');

      await expect(setupResult.model.activeHolder(grantId)).resolves.toBeUndefined();
    });

    it('answers nothing once the client is deleted', async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      setupResult.clients.docs.delete('cli_web');

      await expect(setupResult.model.activeHolder(grantId)).resolves.toBeUndefined();
    });

    it('answers nothing for a client grant once the client is deleted', async () => {
      const { model, clients } = setup();
      const holder = await model.getUserFromClient(modelClient());
      clients.docs.delete('cli_web');

      await expect(model.activeHolder(holder.grantId!)).resolves.toBeUndefined();
    });

    it("answers nothing when the user's workspace is not the grant's", async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      setupResult.users.docs.set('usr_alice', userDoc({ workspaceId: 'ws_other' }));

      await expect(setupResult.model.activeHolder(grantId)).resolves.toBeUndefined();
    });

    it("answers nothing when the client's workspace is not the grant's", async () => {
      const setupResult = setup();
      const grantId = await issueCode(setupResult, 'code-1');
      setupResult.clients.docs.set('cli_web', clientDoc({ workspaceId: 'ws_other' }));

      await expect(setupResult.model.activeHolder(grantId)).resolves.toBeUndefined();
    });
  });

  describe('tokens', () => {
    it("generates refresh tokens that start with 'cfr_', are 47 characters and differ", async () => {
      const { model } = setup();

      const first = await model.generateRefreshToken();
      const second = await model.generateRefreshToken();

      expect(first).toMatch(/^cfr_[A-Za-z0-9_-]{43}$/);
      expect(first).toHaveLength(47);
      expect(second).toHaveLength(47);
      expect(second).not.toBe(first);
    });

    it('signs access tokens for the holder, its workspace, the client, the grant and the scopes', async () => {
      const { model, keys } = setup();

      const token = await model.generateAccessToken(
        modelClient(),
        { ...alice(), grantId: 'grt_1' },
        ['read', 'write'],
      );

      expect(JSON.parse(token)).toEqual({
        subject: 'usr_alice',
        workspaceId: 'ws_acme',
        clientId: 'cli_web',
        grantId: 'grt_1',
        scopes: ['read', 'write'],
      });
      expect(keys.sign).toHaveBeenCalledTimes(1);
    });

    it('refuses to sign an access token for a holder without a grant', () => {
      const { model, keys } = setup();

      expect(() => model.generateAccessToken(modelClient(), alice(), ['read'])).toThrow(/grant/);
      expect(keys.sign).not.toHaveBeenCalled();
    });
  });
});
