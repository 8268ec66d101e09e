import { createLocalJWKSet, jwtVerify, SignJWT, generateKeyPair, type JSONWebKeySet } from 'jose';
import type {
  CreatedOAuthClient,
  ErrorEnvelope,
  Pipeline,
  User,
  Workspace,
} from '@cloudflow/contracts';
import { SPEC_CREATE_PIPELINE_BODY, type ApiClient } from '@cloudflow/testing';
import { Stack, eventually, STACK_MODE } from './support/stack';
import {
  Browser,
  authorizeAndApprove,
  authorizePath,
  createUser,
  interactionOf,
  pkce,
  registerClient,
  requestToken,
} from './support/oauth';

const REDIRECT = 'http://127.0.0.1:9999/callback';
const PASSWORD = 'correct horse battery staple';

/**
 * OAuth 2.0 over HTTP only, as a browser and a client application see it:
 * the published flow (redirect to /auth/fake-oauth, sign in, approve, code,
 * `POST /api/v1/oauth/token` with `{"code": ...}`, Bearer calls), refresh
 * rotation, client credentials, and each refusal RFC 9700 asks for.
 */
describe(`OAuth 2.0 (${STACK_MODE})`, () => {
  let stack: Stack;
  let base: string;
  let admin: ApiClient;
  let app: CreatedOAuthClient;
  let user: User;

  beforeAll(async () => {
    stack = await Stack.start({ OAUTH_CODE_TTL_SECONDS: '10' });
    base = stack.gateway.baseUrl;
    admin = stack.api();
    user = await createUser(admin, 'ada', PASSWORD);
    app = await registerClient(admin, {
      name: 'Flow CLI',
      type: 'public',
      redirectUris: [REDIRECT],
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const signIn = { username: 'ada', password: PASSWORD };

  /** The browser part of the flow for the public client; answers the code and the verifier. */
  const authorize = async (options: { path?: string; scope?: string } = {}) => {
    const { verifier, challenge } = pkce();
    const back = await authorizeAndApprove(
      new Browser(base),
      {
        clientId: app.id,
        redirectUri: REDIRECT,
        challenge,
        method: 'S256',
        state: 'st-1',
        scope: options.scope,
      },
      signIn,
      options.path,
    );
    return { code: back.searchParams.get('code') ?? '', verifier, back };
  };

  const redeem = (code: string, verifier: string) =>
    requestToken(
      base,
      { code, client_id: app.id, redirect_uri: REDIRECT, code_verifier: verifier },
      { json: true },
    );

  const bearer = (token: string | undefined) => stack.api(`Bearer ${token ?? ''}`);

  it('runs the published flow: /auth/fake-oauth, sign-in, consent, code, JSON token request, Bearer calls', async () => {
    const { code, verifier, back } = await authorize({ path: '/auth/fake-oauth' });
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(code).toMatch(/^[A-Za-z0-9]{20,}$/);

    const token = await redeem(code, verifier);
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'read write' });
    expect(token.body.expires_in).toBeGreaterThan(500);
    expect(token.body.refresh_token).toMatch(/^cfr_[A-Za-z0-9_-]{43}$/);

    const api = bearer(token.body.access_token);
    const created = await api.post<Pipeline>('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY);
    expect(created.status).toBe(201);
    expect((await api.get(`/api/v1/pipelines/${created.body.id}`)).status).toBe(200);
    const ws = await api.get<Workspace>('/api/v1/workspaces/current');
    expect(ws.body.id).toBe('ws_default');
    // The user's token acts in the user's workspace and is seen by the admin's key too.
    expect((await admin.get(`/api/v1/pipelines/${created.body.id}`)).status).toBe(200);
  });

  it('also takes /auth/authorize and a form-encoded token request, and refreshes with rotation', async () => {
    const { code, verifier } = await authorize();
    const first = await requestToken(base, {
      grant_type: 'authorization_code',
      code,
      client_id: app.id,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(first.status).toBe(200);
    const refreshed = await requestToken(base, {
      grant_type: 'refresh_token',
      client_id: app.id,
      refresh_token: first.body.refresh_token ?? '',
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toMatch(/^cfr_/);
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect((await bearer(refreshed.body.access_token).get('/api/v1/pipelines')).status).toBe(200);
  });

  it('publishes the signing keys as JWKS, and access tokens verify against them', async () => {
    const { code, verifier } = await authorize();
    const token = await redeem(code, verifier);
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(
      token.body.access_token ?? '',
      createLocalJWKSet(jwks),
      {
        issuer: base,
        audience: 'cloudflow-api',
      },
    );
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({
      sub: user.id,
      ws: 'ws_default',
      client_id: app.id,
      scope: 'read write',
    });
    const metadata = (await (
      await fetch(`${base}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: base,
      token_endpoint: `${base}/api/v1/oauth/token`,
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('narrows a token to the scopes asked for: a read token cannot write', async () => {
    const { code, verifier } = await authorize({ scope: 'read' });
    const token = await redeem(code, verifier);
    expect(token.body.scope).toBe('read');
    const api = bearer(token.body.access_token);
    expect((await api.get('/api/v1/pipelines')).status).toBe(200);
    const write = await api.post<ErrorEnvelope>('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY);
    expect([write.status, write.body.code]).toEqual([403, 4030]);
  });

  describe('refuses, as RFC 6749 and RFC 9700 require', () => {
    it('a redirect URI that is not registered exactly: an error page, never a redirect', async () => {
      const { challenge } = pkce();
      for (const redirectUri of [
        'http://127.0.0.1:9999/callback/',
        'http://127.0.0.1:9999/callback?x=1',
        'http://localhost:9999/callback',
        'http://127.0.0.1:9999@evil.example/callback',
        'https://evil.example/callback',
      ]) {
        const res = await new Browser(base).get(
          authorizePath({ clientId: app.id, redirectUri, challenge, method: 'S256' }),
        );
        expect([redirectUri, res.status, res.location]).toEqual([redirectUri, 400, undefined]);
        expect(res.text).toContain('Invalid redirect URI');
      }
      const unknown = await new Browser(base).get(
        authorizePath({ clientId: 'cli_nope', redirectUri: REDIRECT }),
      );
      expect([unknown.status, unknown.location]).toEqual([400, undefined]);
      // RFC 8252 7.3: a native app's loopback IP redirect may name any port; nothing else moves.
      const otherPort = await new Browser(base).get(
        authorizePath({
          clientId: app.id,
          redirectUri: 'http://127.0.0.1:9998/callback',
          challenge,
          method: 'S256',
        }),
      );
      expect([otherPort.status, otherPort.location]).toEqual([200, undefined]);
      expect(otherPort.text).not.toContain('Invalid redirect URI');
    });

    it('a public client without PKCE, or with the plain method', async () => {
      const { challenge } = pkce();
      const without = await new Browser(base).get(
        authorizePath({ clientId: app.id, redirectUri: REDIRECT, state: 's' }),
      );
      expect(without.status).toBe(302);
      const a = new URL(without.location ?? '');
      expect(a.searchParams.get('error')).toBe('invalid_request');
      expect(a.searchParams.get('error_description')).toMatch(/PKCE is required/);
      expect(a.searchParams.get('state')).toBe('s');
      const plain = await new Browser(base).get(
        authorizePath({ clientId: app.id, redirectUri: REDIRECT, challenge, method: 'plain' }),
      );
      expect(new URL(plain.location ?? '').searchParams.get('error')).toBe('invalid_request');
      expect(new URL(plain.location ?? '').searchParams.get('error_description')).toMatch(/S256/);
    });

    it('a token request without the verifier (downgrade) or with a wrong one, and that code afterwards', async () => {
      const first = await authorize();
      const missing = await requestToken(base, {
        grant_type: 'authorization_code',
        code: first.code,
        client_id: app.id,
        redirect_uri: REDIRECT,
      });
      expect([missing.status, missing.body.error]).toEqual([400, 'invalid_grant']);
      expect(missing.body.code).toBe(4000);
      // The failed attempt used the code up: the right verifier no longer helps.
      expect((await redeem(first.code, first.verifier)).body.error).toBe('invalid_grant');

      const second = await authorize();
      const wrong = await redeem(second.code, pkce().verifier);
      expect([wrong.status, wrong.body.error]).toEqual([400, 'invalid_grant']);
      expect((await redeem(second.code, second.verifier)).status).toBe(400);
    });

    it('a reused code, and revokes the tokens the code gave (access within 5 s, refresh at once)', async () => {
      const { code, verifier } = await authorize();
      const token = await redeem(code, verifier);
      expect(token.status).toBe(200);
      const api = bearer(token.body.access_token);
      expect((await api.get('/api/v1/pipelines')).status).toBe(200);

      const reuse = await redeem(code, verifier);
      expect([reuse.status, reuse.body.error]).toEqual([400, 'invalid_grant']);
      const refused = await eventually(
        async () => (await api.get<ErrorEnvelope>('/api/v1/pipelines')).body?.code === 4010,
        5_000,
        100,
      );
      expect(refused).toBeLessThan(5_000);
      const refresh = await requestToken(base, {
        grant_type: 'refresh_token',
        client_id: app.id,
        refresh_token: token.body.refresh_token ?? '',
      });
      expect(refresh.body.error).toBe('invalid_grant');
    });

    it('an expired code (codes live 10 s here)', async () => {
      const { code, verifier } = await authorize();
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      const res = await redeem(code, verifier);
      expect([res.status, res.body.error]).toEqual([400, 'invalid_grant']);
      expect(res.body.error_description).toMatch(/expired/);
    });

    it('a rotated refresh token used again, revoking the whole family', async () => {
      const { code, verifier } = await authorize();
      const first = await redeem(code, verifier);
      const rotate = (refreshToken: string | undefined) =>
        requestToken(base, {
          grant_type: 'refresh_token',
          client_id: app.id,
          refresh_token: refreshToken ?? '',
        });
      const second = await rotate(first.body.refresh_token);
      expect(second.status).toBe(200);
      const api = bearer(second.body.access_token);
      expect((await api.get('/api/v1/pipelines')).status).toBe(200);

      const replay = await rotate(first.body.refresh_token);
      expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant']);
      // The newest refresh token of the family dies with it, and so do its access tokens.
      expect((await rotate(second.body.refresh_token)).body.error).toBe('invalid_grant');
      const refused = await eventually(
        async () => (await api.get<ErrorEnvelope>('/api/v1/pipelines')).body?.code === 4010,
        5_000,
        100,
      );
      expect(refused).toBeLessThan(5_000);
    });

    it('a wrong password, and a user of another workspace, with the same words and no code', async () => {
      const browser = new Browser(base);
      const { challenge } = pkce();
      const login = await browser.get(
        authorizePath({ clientId: app.id, redirectUri: REDIRECT, challenge, method: 'S256' }),
      );
      const wrong = await browser.postForm('/auth/login', {
        interaction: interactionOf(login.text),
        username: 'ada',
        password: 'not the password',
      });
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain('role="alert"');
      expect(wrong.text).toContain('Incorrect username or password.');

      const other = await admin.post<{ adminKey: { key: string } }>('/api/v1/workspaces', {
        name: 'elsewhere',
      });
      await createUser(stack.api(`ApiKey ${other.body.adminKey.key}`), 'grace', PASSWORD);
      const foreign = await browser.postForm('/auth/login', {
        interaction: interactionOf(wrong.text),
        username: 'grace',
        password: PASSWORD,
      });
      expect(foreign.status).toBe(401);
      expect(foreign.text).toContain('Incorrect username or password.');
    });

    it('consent from another browser, a second answer, and a denial', async () => {
      const browser = new Browser(base);
      const { challenge } = pkce();
      const login = await browser.get(
        authorizePath({
          clientId: app.id,
          redirectUri: REDIRECT,
          challenge,
          method: 'S256',
          state: 'd',
        }),
      );
      const consent = await browser.postForm('/auth/login', {
        interaction: interactionOf(login.text),
        ...signIn,
      });
      const interaction = interactionOf(consent.text);

      const stranger = new Browser(base);
      const hijack = await stranger.postForm('/auth/consent', { interaction, decision: 'approve' });
      expect([hijack.status, hijack.location]).toEqual([403, undefined]);

      const denied = await browser.postForm('/auth/consent', { interaction, decision: 'deny' });
      const back = new URL(denied.location ?? '');
      expect(back.searchParams.get('error')).toBe('access_denied');
      expect(back.searchParams.get('state')).toBe('d');
      expect(back.searchParams.get('code')).toBeNull();
      const again = await browser.postForm('/auth/consent', { interaction, decision: 'approve' });
      expect([again.status, again.location]).toEqual([400, undefined]);
    });

    it('a forged, tampered or garbage access token', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({
        ws: 'ws_default',
        gid: 'grt_x',
        scope: 'read write admin',
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
        .setIssuer(base)
        .setAudience('cloudflow-api')
        .setSubject(user.id)
        .setExpirationTime('10m')
        .sign(privateKey);
      for (const token of [forged, 'not-a-jwt', `${forged.slice(0, -4)}AAAA`]) {
        const res = await bearer(token).get<ErrorEnvelope>('/api/v1/pipelines');
        expect([res.status, res.body.code]).toEqual([401, 4010]);
        expect(res.text).not.toContain(token);
      }
    });
  });

  describe('revocation (RFC 7009)', () => {
    const revoke = (fields: Record<string, string>) =>
      fetch(`${base}/api/v1/oauth/revoke`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });

    it('ends a refresh token, its family and its access tokens', async () => {
      const { code, verifier } = await authorize();
      const token = await redeem(code, verifier);
      const api = bearer(token.body.access_token);
      expect((await api.get('/api/v1/pipelines')).status).toBe(200);
      const res = await revoke({ token: token.body.refresh_token ?? '', client_id: app.id });
      expect(res.status).toBe(200);
      const refresh = await requestToken(base, {
        grant_type: 'refresh_token',
        client_id: app.id,
        refresh_token: token.body.refresh_token ?? '',
      });
      expect(refresh.body.error).toBe('invalid_grant');
      const refused = await eventually(
        async () => (await api.get<ErrorEnvelope>('/api/v1/pipelines')).body?.code === 4010,
        5_000,
        100,
      );
      expect(refused).toBeLessThan(5_000);
    });

    it('ends an access token given itself, and refuses to touch another client’s', async () => {
      const mine = await (async () => {
        const { code, verifier } = await authorize();
        return redeem(code, verifier);
      })();
      const other = await registerClient(admin, {
        name: 'Other app',
        type: 'public',
        redirectUris: [REDIRECT],
      });
      const notTheirs = await revoke({ token: mine.body.access_token ?? '', client_id: other.id });
      expect(notTheirs.status).toBe(400);
      expect(((await notTheirs.json()) as { error: string }).error).toBe('unauthorized_client');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect((await bearer(mine.body.access_token).get('/api/v1/pipelines')).status).toBe(200);

      expect(
        (await revoke({ token: mine.body.access_token ?? '', client_id: app.id })).status,
      ).toBe(200);
      const refused = await eventually(
        async () => (await bearer(mine.body.access_token).get('/api/v1/pipelines')).status === 401,
        5_000,
        100,
      );
      expect(refused).toBeLessThan(5_000);
      // An unknown token is answered the same: the endpoint tells nothing about tokens.
      expect((await revoke({ token: 'cfr_unknown', client_id: app.id })).status).toBe(200);
      const anonymous = await revoke({ token: 'cfr_unknown', client_id: 'cli_nope' });
      expect(anonymous.status).toBe(401);
    });
  });

  describe('confidential clients', () => {
    let server: CreatedOAuthClient;
    let machine: CreatedOAuthClient;

    beforeAll(async () => {
      server = await registerClient(admin, { name: 'Reports server', redirectUris: [REDIRECT] });
      machine = await registerClient(admin, {
        name: 'Nightly sync',
        redirectUris: [],
        grants: ['client_credentials'],
        scopes: ['read'],
      });
    });

    it('get a secret shown once with a cfs_ prefix, never listed', async () => {
      expect(server.clientSecret).toMatch(/^cfs_[A-Za-z0-9_-]{43}$/);
      expect(app.clientSecret).toBeUndefined();
      const listed = await admin.get('/api/v1/oauth/clients?limit=100');
      expect(listed.text).toContain(server.id);
      expect(listed.text).not.toContain(server.clientSecret);
      const one = await admin.get(`/api/v1/oauth/clients/${server.id}`);
      expect(one.body).toMatchObject({
        id: server.id,
        type: 'confidential',
        redirectUris: [REDIRECT],
      });
      expect(one.text).not.toContain('cfs_');
    });

    it('must authenticate at the token endpoint: no secret or a wrong one is invalid_client', async () => {
      const flow = async () =>
        (
          await authorizeAndApprove(
            new Browser(base),
            { clientId: server.id, redirectUri: REDIRECT },
            signIn,
          )
        ).searchParams.get('code') ?? '';
      const fields = (code: string) => ({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: server.id,
      });
      const none = await requestToken(base, fields(await flow()));
      expect(none.body.error).toBe('invalid_client');
      const wrong = await requestToken(base, fields(await flow()), {
        basic: { id: server.id, secret: 'cfs_wrong' },
      });
      expect([wrong.status, wrong.body.error, wrong.body.code]).toEqual([
        401,
        'invalid_client',
        4010,
      ]);
      const right = await requestToken(base, fields(await flow()), {
        basic: { id: server.id, secret: server.clientSecret ?? '' },
      });
      expect(right.status).toBe(200);
      expect((await bearer(right.body.access_token).get('/api/v1/pipelines')).status).toBe(200);
    });

    it('use client credentials: a token for the client itself, with its scopes and no refresh token', async () => {
      const res = await requestToken(base, {
        grant_type: 'client_credentials',
        client_id: machine.id,
        client_secret: machine.clientSecret ?? '',
      });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('read');
      expect(res.body.refresh_token).toBeUndefined();
      const api = bearer(res.body.access_token);
      expect((await api.get('/api/v1/pipelines')).status).toBe(200);
      expect((await api.post('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY)).status).toBe(403);
      // A public client has no secret to authenticate client credentials with.
      const publicTry = await requestToken(base, {
        grant_type: 'client_credentials',
        client_id: app.id,
      });
      expect([publicTry.status, publicTry.body.error]).toEqual([400, 'invalid_client']);
      const guessed = await requestToken(base, {
        grant_type: 'client_credentials',
        client_id: app.id,
        client_secret: 'cfs_guess',
      });
      expect(guessed.body.error).toBe('invalid_client');
    });

    it('refuses a verifier for a code issued without a challenge (PKCE downgrade), another client’s code, and a different redirect URI', async () => {
      const basic = { id: server.id, secret: server.clientSecret ?? '' };
      const codeFor = async () =>
        (
          await authorizeAndApprove(
            new Browser(base),
            { clientId: server.id, redirectUri: REDIRECT },
            signIn,
          )
        ).searchParams.get('code') ?? '';
      const fields = (code: string) => ({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
      });

      const downgrade = await requestToken(
        base,
        { ...fields(await codeFor()), code_verifier: pkce().verifier },
        { basic },
      );
      expect([downgrade.status, downgrade.body.error]).toEqual([400, 'invalid_grant']);

      const { code: publicCode, verifier } = await authorize();
      const stolen = await requestToken(
        base,
        { ...fields(publicCode), code_verifier: verifier },
        { basic },
      );
      expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_grant']);

      const elsewhere = await requestToken(
        base,
        { ...fields(await codeFor()), redirect_uri: 'http://127.0.0.1:9999/other' },
        { basic },
      );
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error_description).toMatch(/redirect_uri/);
    });

    it('needs no redirect URI at the token endpoint when the authorization request named none', async () => {
      const back = await authorizeAndApprove(new Browser(base), { clientId: server.id }, signIn);
      expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
      const token = await requestToken(
        base,
        { grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '' },
        { basic: { id: server.id, secret: server.clientSecret ?? '' } },
      );
      expect(token.status).toBe(200);
    });

    it('refuses a refresh that asks for more than the grant gave', async () => {
      const { code, verifier } = await authorize({ scope: 'read' });
      const token = await redeem(code, verifier);
      const wider = await requestToken(base, {
        grant_type: 'refresh_token',
        client_id: app.id,
        refresh_token: token.body.refresh_token ?? '',
        scope: 'read write',
      });
      expect([wider.status, wider.body.error]).toEqual([400, 'invalid_scope']);
    });

    it('a public client cannot register client credentials', async () => {
      const res = await admin.post<ErrorEnvelope>('/api/v1/oauth/clients', {
        name: 'bad',
        type: 'public',
        grants: ['client_credentials'],
      });
      expect([res.status, res.body.code]).toEqual([400, 4002]);
      expect(res.body.details).toMatch(/public client cannot use client_credentials/);
    });
  });

  describe('users', () => {
    it('are created by an admin without ever showing the password, and deleting one stops their tokens', async () => {
      const created = await createUser(admin, 'katherine', PASSWORD, ['read']);
      expect(created).toEqual({
        id: expect.stringMatching(/^usr_/),
        username: 'katherine',
        scopes: ['read'],
        createdAt: expect.any(String),
      });
      const listed = await admin.get('/api/v1/users?limit=100');
      expect(listed.text).toContain(created.id);
      expect(listed.text).not.toContain(PASSWORD);
      expect(listed.text).not.toContain('argon2');
      const taken = await admin.post<ErrorEnvelope>('/api/v1/users', {
        username: 'katherine',
        password: PASSWORD,
      });
      expect([taken.status, taken.body.code]).toEqual([409, 4090]);

      const { challenge, verifier } = pkce();
      const back = await authorizeAndApprove(
        new Browser(base),
        { clientId: app.id, redirectUri: REDIRECT, challenge, method: 'S256' },
        { username: 'katherine', password: PASSWORD },
      );
      const token = await redeem(back.searchParams.get('code') ?? '', verifier);
      expect(token.body.scope).toBe('read');
      const api = bearer(token.body.access_token);
      expect((await api.get('/api/v1/pipelines')).status).toBe(200);

      expect((await admin.delete(`/api/v1/users/${created.id}`)).status).toBe(204);
      expect((await admin.get(`/api/v1/users/${created.id}`)).status).toBe(404);
      const refused = await eventually(
        async () => (await api.get<ErrorEnvelope>('/api/v1/pipelines')).body?.code === 4010,
        5_000,
        100,
      );
      expect(refused).toBeLessThan(5_000);
    });

    it('cannot be created by a read-only key, nor with a short password', async () => {
      const reader = await admin.post<{ key: string }>('/api/v1/api-keys', {
        name: 'reader',
        scopes: ['read'],
      });
      const asReader = stack.api(`ApiKey ${reader.body.key}`);
      const res = await asReader.post<ErrorEnvelope>('/api/v1/users', {
        username: 'mallory',
        password: PASSWORD,
      });
      expect([res.status, res.body.code]).toEqual([403, 4030]);
      const short = await admin.post<ErrorEnvelope>('/api/v1/users', {
        username: 'shorty',
        password: 'abc',
      });
      expect([short.status, short.body.code]).toEqual([400, 4002]);
      expect(short.body.details).toMatch(/'password' must be at least 12 character/);
    });
  });
});
