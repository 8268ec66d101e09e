import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { AppError, hasScope, type Principal } from '@cloudflow/contracts';
import type { RpcClient } from '@cloudflow/messaging';
import { AccessTokenVerifier } from './access-token.verifier';
import { CredentialCache } from './credential-cache';

const ISSUER = 'https://api.cloudflow.test';
const AUDIENCE = 'cloudflow-api';
const INVALID = 'The bearer token is invalid or expired';
const REQUEST_ID = 'req_verifier_spec';
const CACHE_TTL_MS = 30_000;
/** Comfortably more than the verifier's minimum interval between key refetches. */
const PAST_KEY_REFRESH_INTERVAL_MS = 10_001;

/** Real time, captured before any test moves `Date.now`; jose checks `exp` against it. */
const REAL_NOW_S = Math.floor(Date.now() / 1000);

interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

interface TokenOptions {
  ws?: string;
  gid?: string;
  sub?: string;
  scope?: string;
  iss?: string;
  aud?: string;
  typ?: string;
  kid?: string;
  exp?: number;
}

function accessToken(key: SigningKey, options: TokenOptions = {}): Promise<string> {
  return new SignJWT({
    ws: options.ws ?? 'ws_acme',
    gid: options.gid ?? 'grt_1',
    scope: options.scope ?? 'read write',
    client_id: 'cli_app',
  })
    .setProtectedHeader({
      alg: 'ES256',
      kid: options.kid ?? key.kid,
      typ: options.typ ?? 'at+jwt',
    })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setSubject(options.sub ?? 'usr_alice')
    .setIssuedAt(REAL_NOW_S - 5)
    .setExpirationTime(options.exp ?? REAL_NOW_S + 600)
    .sign(key.privateKey);
}

function userPrincipal(overrides: Partial<Principal> = {}): Principal {
  return {
    workspaceId: 'ws_acme',
    subject: { kind: 'user', id: 'usr_alice' },
    scopes: ['read', 'write'],
    ...overrides,
  };
}

/** Auth as the gateway sees it over RPC: its published keys and its grants. */
class FakeAuth {
  published: JWK[] = [];
  /** The next this-many JWKS requests fail. */
  failingJwksCalls = 0;
  readonly grants = new Map<string, Principal | Error>();

  readonly call = jest.fn(
    (pattern: string, request: { grantId?: string }, _options?: { requestId?: string }) => {
      if (pattern === 'auth.oauth.jwks') {
        if (this.failingJwksCalls > 0) {
          this.failingJwksCalls -= 1;
          return Promise.reject(AppError.unavailable('The auth service is unavailable'));
        }
        return Promise.resolve({ issuer: ISSUER, keys: this.published.map((k) => ({ ...k })) });
      }
      if (pattern === 'auth.oauth.grantPrincipal') {
        const grant = this.grants.get(request.grantId ?? '');
        if (!grant) return Promise.reject(AppError.unauthorized(INVALID));
        if (grant instanceof Error) return Promise.reject(grant);
        return Promise.resolve({ principal: grant });
      }
      return Promise.reject(new Error(`unexpected RPC ${pattern}`));
    },
  );

  callsTo(pattern: string) {
    return this.call.mock.calls.filter(([called]) => called === pattern);
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the verification to fail with an AppError');
}

describe('AccessTokenVerifier', () => {
  let now: number;
  let auth: FakeAuth;
  let verifier: AccessTokenVerifier;
  let key: SigningKey;

  beforeAll(async () => {
    key = await signingKey('k_current');
  });

  beforeEach(() => {
    now = 1_750_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    auth = new FakeAuth();
    auth.published = [key.publicJwk];
    auth.grants.set('grt_1', userPrincipal());
    verifier = new AccessTokenVerifier(
      { call: auth.call } as unknown as RpcClient,
      new CredentialCache(CACHE_TTL_MS, 100, () => now),
    );
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('a valid token', () => {
    it('is the principal of its grant', async () => {
      const principal = await verifier.verify(await accessToken(key), REQUEST_ID);

      expect(principal).toEqual({
        workspaceId: 'ws_acme',
        subject: { kind: 'user', id: 'usr_alice' },
        scopes: ['read', 'write'],
      });
      expect(auth.callsTo('auth.oauth.jwks')).toEqual([
        ['auth.oauth.jwks', {}, { requestId: REQUEST_ID }],
      ]);
      expect(auth.callsTo('auth.oauth.grantPrincipal')).toEqual([
        ['auth.oauth.grantPrincipal', { grantId: 'grt_1' }, { requestId: REQUEST_ID }],
      ]);
    });

    it("carries only the scopes both the token and the grant's principal have", async () => {
      auth.grants.set('grt_1', userPrincipal({ scopes: ['read'] }));

      const principal = await verifier.verify(
        await accessToken(key, { scope: 'read write' }),
        REQUEST_ID,
      );

      expect(principal.scopes).toEqual(['read']);
      expect(hasScope(principal, 'write')).toBe(false);
    });

    it('does not gain a scope the token was narrowed away from', async () => {
      auth.grants.set('grt_1', userPrincipal({ scopes: ['read', 'write'] }));

      const principal = await verifier.verify(
        await accessToken(key, { scope: 'read' }),
        REQUEST_ID,
      );

      expect(principal.scopes).toEqual(['read']);
    });

    it('ignores scope names CloudFlow does not know', async () => {
      const principal = await verifier.verify(
        await accessToken(key, { scope: 'read delete-everything' }),
        REQUEST_ID,
      );

      expect(principal.scopes).toEqual(['read']);
    });

    // A client-credentials grant stores the client's own scopes (e.g. ['admin'])
    // while its token carries the validated, possibly narrowed ones (e.g. 'read').
    it('keeps a scope the grant holds through `admin` (admin implies every scope)', async () => {
      auth.grants.set(
        'grt_1',
        userPrincipal({ subject: { kind: 'client', id: 'cli_app' }, scopes: ['admin'] }),
      );

      const principal = await verifier.verify(
        await accessToken(key, { sub: 'cli_app', scope: 'read' }),
        REQUEST_ID,
      );

      expect(hasScope(principal, 'read')).toBe(true);
    });
  });

  describe('grant lookups', () => {
    it('asks auth about a grant once, however many of its tokens arrive', async () => {
      await verifier.verify(await accessToken(key, { scope: 'read write' }), REQUEST_ID);
      const second = await verifier.verify(await accessToken(key, { scope: 'read' }), 'req_2');

      expect(second.scopes).toEqual(['read']);
      expect(auth.callsTo('auth.oauth.grantPrincipal')).toHaveLength(1);
    });

    it('asks auth about each grant separately', async () => {
      auth.grants.set(
        'grt_2',
        userPrincipal({ workspaceId: 'ws_beta', subject: { kind: 'user', id: 'usr_bob' } }),
      );

      await verifier.verify(await accessToken(key), REQUEST_ID);
      const bob = await verifier.verify(
        await accessToken(key, { gid: 'grt_2', ws: 'ws_beta', sub: 'usr_bob' }),
        'req_bob',
      );

      expect(bob.subject).toEqual({ kind: 'user', id: 'usr_bob' });
      expect(bob.workspaceId).toBe('ws_beta');
      expect(auth.callsTo('auth.oauth.grantPrincipal').map(([, request]) => request)).toEqual([
        { grantId: 'grt_1' },
        { grantId: 'grt_2' },
      ]);
    });

    it('stops accepting tokens of a revoked grant once the cached answer expires', async () => {
      await verifier.verify(await accessToken(key), REQUEST_ID);
      auth.grants.set('grt_1', AppError.unauthorized(INVALID));

      now += CACHE_TTL_MS + 1;
      const error = await rejectionOf(verifier.verify(await accessToken(key), REQUEST_ID));

      expect(error.code).toBe(4010);
      expect(auth.callsTo('auth.oauth.grantPrincipal')).toHaveLength(2);
    });

    it("passes auth's refusal of the grant on as 4010", async () => {
      auth.grants.set('grt_1', AppError.unauthorized(INVALID));

      const error = await rejectionOf(verifier.verify(await accessToken(key), REQUEST_ID));

      expect(error.code).toBe(4010);
      expect(error.status).toBe(401);
      expect(error.details).toBe(INVALID);
    });

    it('does not remember a refusal: the next token asks again', async () => {
      auth.grants.set('grt_1', AppError.unauthorized(INVALID));
      await rejectionOf(verifier.verify(await accessToken(key), REQUEST_ID));
      auth.grants.set('grt_1', userPrincipal());

      const principal = await verifier.verify(await accessToken(key), REQUEST_ID);

      expect(principal.subject.id).toBe('usr_alice');
      expect(auth.callsTo('auth.oauth.grantPrincipal')).toHaveLength(2);
    });

    it('refuses a token naming another workspace than its grant', async () => {
      const error = await rejectionOf(
        verifier.verify(await accessToken(key, { ws: 'ws_other' }), REQUEST_ID),
      );

      expect(error.code).toBe(4010);
      expect(error.details).toBe(INVALID);
    });

    it('refuses a token naming another subject than its grant', async () => {
      const error = await rejectionOf(
        verifier.verify(await accessToken(key, { sub: 'usr_mallory' }), REQUEST_ID),
      );

      expect(error.code).toBe(4010);
      expect(error.details).toBe(INVALID);
    });

    it('refuses a mismatching token even when the grant is already cached', async () => {
      await verifier.verify(await accessToken(key), REQUEST_ID);

      const error = await rejectionOf(
        verifier.verify(await accessToken(key, { ws: 'ws_other' }), REQUEST_ID),
      );

      expect(error.code).toBe(4010);
    });
  });

  describe('refused tokens', () => {
    it('says an expired token should be refreshed', async () => {
      const error = await rejectionOf(
        verifier.verify(await accessToken(key, { exp: REAL_NOW_S - 60 }), REQUEST_ID),
      );

      expect(error.code).toBe(4010);
      expect(error.details).toMatch(/refresh/i);
      expect(auth.callsTo('auth.oauth.grantPrincipal')).toHaveLength(0);
    });

    const invalid: [string, () => Promise<string>][] = [
      ['for another audience', () => accessToken(key, { aud: 'some-other-api' })],
      ['from another issuer', () => accessToken(key, { iss: 'https://evil.example' })],
      ['of another type', () => accessToken(key, { typ: 'JWT' })],
      [
        'signed with HS256',
        () =>
          new SignJWT({ ws: 'ws_acme', gid: 'grt_1', scope: 'read write', client_id: 'cli_app' })
            .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject('usr_alice')
            .setExpirationTime(REAL_NOW_S + 600)
            .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs256')),
      ],
      [
        'signed by another key under the same kid',
        async () => accessToken(await signingKey(key.kid)),
      ],
      ['that is not a JWT at all', () => Promise.resolve('garbage')],
      ['that only looks like a JWT', () => Promise.resolve('aaa.bbb.ccc')],
      [
        'without a grant id',
        () =>
          new SignJWT({ ws: 'ws_acme', scope: 'read write', client_id: 'cli_app' })
            .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject('usr_alice')
            .setExpirationTime(REAL_NOW_S + 600)
            .sign(key.privateKey),
      ],
    ];

    it.each(invalid)('refuses a token %s as invalid', async (_case, makeToken) => {
      const error = await rejectionOf(verifier.verify(await makeToken(), REQUEST_ID));

      expect(error.code).toBe(4010);
      expect(error.status).toBe(401);
      expect(error.details).toBe(INVALID);
      expect(auth.callsTo('auth.oauth.grantPrincipal')).toHaveLength(0);
    });
  });

  describe('signing keys', () => {
    it('fetches the keys once for many tokens', async () => {
      await verifier.verify(await accessToken(key), REQUEST_ID);
      await verifier.verify(await accessToken(key, { scope: 'read' }), REQUEST_ID);
      now += PAST_KEY_REFRESH_INTERVAL_MS * 10;
      await verifier.verify(await accessToken(key), REQUEST_ID);

      expect(auth.callsTo('auth.oauth.jwks')).toHaveLength(1);
    });

    it('fetches the keys again for a token naming a key it does not know', async () => {
      await verifier.verify(await accessToken(key), REQUEST_ID);
      const rotated = await signingKey('k_rotated');
      auth.published = [key.publicJwk, rotated.publicJwk];
      now += PAST_KEY_REFRESH_INTERVAL_MS;

      const principal = await verifier.verify(await accessToken(rotated), 'req_rotated');

      expect(principal.subject.id).toBe('usr_alice');
      expect(auth.callsTo('auth.oauth.jwks')).toEqual([
        ['auth.oauth.jwks', {}, { requestId: REQUEST_ID }],
        ['auth.oauth.jwks', {}, { requestId: 'req_rotated' }],
      ]);
      // The old key still verifies after the refetch.
      await expect(verifier.verify(await accessToken(key), REQUEST_ID)).resolves.toBeDefined();
    });

    it('refetches for unknown keys at most once per refresh interval', async () => {
      await verifier.verify(await accessToken(key), REQUEST_ID);
      now += PAST_KEY_REFRESH_INTERVAL_MS;
      const unknownA = await signingKey('k_unknown_a');
      const unknownB = await signingKey('k_unknown_b');

      const first = await rejectionOf(verifier.verify(await accessToken(unknownA), REQUEST_ID));
      const second = await rejectionOf(verifier.verify(await accessToken(unknownB), REQUEST_ID));
      now += 5_000;
      const third = await rejectionOf(verifier.verify(await accessToken(unknownA), REQUEST_ID));

      for (const error of [first, second, third]) {
        expect(error.code).toBe(4010);
        expect(error.details).toBe(INVALID);
      }
      expect(auth.callsTo('auth.oauth.jwks')).toHaveLength(2);

      // Once the interval has passed, a newly published key is picked up.
      auth.published = [key.publicJwk, unknownA.publicJwk];
      now += PAST_KEY_REFRESH_INTERVAL_MS;
      await expect(verifier.verify(await accessToken(unknownA), REQUEST_ID)).resolves.toMatchObject(
        { workspaceId: 'ws_acme' },
      );
      expect(auth.callsTo('auth.oauth.jwks')).toHaveLength(3);
    });

    it('does not remember a failed key fetch: the next token tries again', async () => {
      auth.failingJwksCalls = 1;

      const failure = await rejectionOf(verifier.verify(await accessToken(key), REQUEST_ID));
      const principal = await verifier.verify(await accessToken(key), REQUEST_ID);

      expect(failure.code).not.toBe(4010);
      expect(principal.subject.id).toBe('usr_alice');
      expect(auth.callsTo('auth.oauth.jwks')).toHaveLength(2);
    });

    it('does not remember a failed refetch either', async () => {
      await verifier.verify(await accessToken(key), REQUEST_ID);
      const rotated = await signingKey('k_rotated');
      auth.published = [key.publicJwk, rotated.publicJwk];
      auth.failingJwksCalls = 1;
      now += PAST_KEY_REFRESH_INTERVAL_MS;

      await rejectionOf(verifier.verify(await accessToken(rotated), REQUEST_ID));
      const principal = await verifier.verify(await accessToken(rotated), REQUEST_ID);

      expect(principal.subject.id).toBe('usr_alice');
      expect(auth.callsTo('auth.oauth.jwks')).toHaveLength(3);
    });
  });
});
