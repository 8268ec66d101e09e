import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigStore } from '../config/config-store';
import { FakeCloudFlow, runCli, tempConfigHome } from '../testing/cli-harness';

const WORKSPACE = { id: 'ws_default', name: 'default', createdAt: '2026-01-01T00:00:00.000Z' };

/** An access token as far as the CLI reads one: its claims, unsigned. */
function accessToken(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'at+jwt' })}.${part(claims)}.signature`;
}

describe('login, whoami and logout', () => {
  let server: FakeCloudFlow;
  let home: string;

  beforeEach(async () => {
    home = tempConfigHome();
    server = await new FakeCloudFlow().start();
    server.on('GET', '/api/v1/workspaces/current', (req) =>
      req.headers['authorization'] === 'ApiKey cfk_good' ||
      req.headers['authorization'] === `Bearer ${accessToken({ sub: 'usr_ada', n: 2 })}`
        ? { status: 200, body: WORKSPACE }
        : {
            status: 401,
            body: {
              error: 'Unauthorized',
              code: 4010,
              details: 'The API key is invalid or revoked',
            },
          },
    );
  });

  afterEach(() => server.stop());

  const cli = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
    runCli(['--url', server.url, ...args], {
      ...options,
      env: { XDG_CONFIG_HOME: home, ...options.env },
    });

  it('checks an API key, saves it 0600 for this server, and whoami proves it works', async () => {
    const login = await cli(['login', '--api-key', 'cfk_good']);

    expect(login).toMatchObject({ code: 0, stderr: '' });
    expect(login.stdout).toContain(
      `Logged in to ${server.url} (workspace default, ws_default) with API key cfk_…`,
    );
    const file = join(home, 'cloudflow', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new ConfigStore(file).profile('default')).toEqual({
      url: server.url,
      credential: { kind: 'api-key', apiKey: 'cfk_good' },
    });

    const whoami = await cli(['whoami']);
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toMatch(new RegExp(`Server: +${server.url}`));
    expect(whoami.stdout).toMatch(/Credential: +API key cfk_…/);
    expect(whoami.stdout).toMatch(/Workspace: +default \(ws_default\)/);
    expect(whoami.stdout).not.toContain('cfk_good');
  });

  it('refuses a wrong key with the envelope and saves nothing', async () => {
    const login = await cli(['login', '--api-key', 'cfk_bad']);

    expect(login.code).toBe(1);
    expect(login.stderr).toBe(
      'error: Unauthorized (code 4010)\n  The API key is invalid or revoked\n',
    );
    expect(new ConfigStore(join(home, 'cloudflow', 'config.json')).read().profiles).toEqual({});
  });

  it('takes the key from CLOUDFLOW_API_KEY, or asks for it without echo', async () => {
    const fromEnv = await cli(['login'], { env: { CLOUDFLOW_API_KEY: 'cfk_good' } });
    expect(fromEnv.code).toBe(0);

    const asked = await cli(['--profile', 'typed', 'login'], { keys: 'cfk_goox\u007fd\r' });
    expect(asked.code).toBe(0);
    expect(asked.stderr).toBe(`API key for ${server.url}: \n`);
    expect(asked.stdout + asked.stderr).not.toContain('cfk_good');

    const noTerminal = await cli(['login']);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('give the key with --api-key KEY or CLOUDFLOW_API_KEY');
  });

  it('sends a saved credential to its own server only', async () => {
    await cli(['login', '--api-key', 'cfk_good']);
    const other = await new FakeCloudFlow().start();

    try {
      const result = await runCli(['--url', other.url, 'whoami'], {
        env: { XDG_CONFIG_HOME: home },
      });

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `error: not logged in to ${other.url} (profile 'default' is for ${server.url}): run \`cloudflow login --url ${other.url}\` or set CLOUDFLOW_API_KEY\n`,
      );
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });

  it('prints one JSON document with --json, and no secret', async () => {
    await cli(['login', '--api-key', 'cfk_good']);

    const whoami = await cli(['whoami', '--json']);

    expect(JSON.parse(whoami.stdout)).toEqual({
      url: server.url,
      profile: 'default',
      credential: { kind: 'api-key', prefix: 'cfk_…', source: 'config' },
      workspace: WORKSPACE,
    });
  });

  it('forgets the credential on logout', async () => {
    await cli(['login', '--api-key', 'cfk_good']);

    const logout = await cli(['logout']);
    expect(logout.stdout).toBe(`Logged out of ${server.url} (profile 'default').\n`);
    const whoami = await cli(['whoami']);
    expect(whoami.code).toBe(2);
    expect(whoami.stderr).toContain(`not logged in to ${server.url}`);
  });

  describe('OAuth in the browser', () => {
    const firstToken = accessToken({ sub: 'usr_ada', n: 1 });
    const renewedToken = accessToken({ sub: 'usr_ada', n: 2 });

    it('signs in with PKCE through a loopback redirect, then renews the expired token', async () => {
      let authorize: URL | undefined;
      server.on('POST', '/api/v1/oauth/token', (req) => {
        const form = new URLSearchParams(req.body);
        if (form.get('grant_type') === 'refresh_token') {
          expect(form.get('refresh_token')).toBe('cfr_1');
          return {
            status: 200,
            body: {
              access_token: renewedToken,
              token_type: 'Bearer',
              expires_in: 600,
              refresh_token: 'cfr_2',
            },
          };
        }
        // The code, for the redirect URI and the verifier of this very sign-in.
        expect(form.get('grant_type')).toBe('authorization_code');
        expect(form.get('code')).toBe('the-code');
        expect(form.get('client_id')).toBe('cli_cli');
        expect(form.get('redirect_uri')).toBe(authorize?.searchParams.get('redirect_uri'));
        const challenge = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        expect(challenge).toBe(authorize?.searchParams.get('code_challenge'));
        return {
          status: 200,
          body: {
            access_token: firstToken,
            token_type: 'Bearer',
            // Already as good as expired: the next command must renew it.
            expires_in: 1,
            refresh_token: 'cfr_1',
            scope: 'read write',
          },
        };
      });
      server.on('GET', '/api/v1/workspaces/current', (req) =>
        req.headers['authorization'] === `Bearer ${firstToken}`
          ? { status: 200, body: WORKSPACE }
          : undefined,
      );
      const opened: string[] = [];

      const login = await cli(['login', '--oauth', '--client-id', 'cli_cli'], {
        openBrowser: (url) => opened.push(url),
        onStderr: (text) => {
          const match = /(http:\/\/\S+\/auth\/authorize\?\S+)/.exec(text);
          if (!match?.[1]) return false;
          authorize = new URL(match[1]);
          const back = new URL(authorize.searchParams.get('redirect_uri') ?? '');
          back.searchParams.set('code', 'the-code');
          back.searchParams.set('state', authorize.searchParams.get('state') ?? '');
          void fetch(back);
          return true;
        },
      });

      expect(login.code).toBe(0);
      expect(opened).toEqual([authorize?.toString()]);
      expect(Object.fromEntries(authorize!.searchParams)).toMatchObject({
        response_type: 'code',
        client_id: 'cli_cli',
        code_challenge_method: 'S256',
      });
      expect(authorize!.searchParams.get('redirect_uri')).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
      );
      expect(login.stdout).toContain(
        'with OAuth user token (usr_ada, client cli_cli, scopes read write',
      );

      const whoami = await cli(['whoami']);
      expect(whoami.code).toBe(0);
      expect(whoami.stdout).toMatch(/Credential: +OAuth user token \(usr_ada, client cli_cli/);
      const stored = new ConfigStore(join(home, 'cloudflow', 'config.json')).profile('default');
      expect(stored?.credential).toMatchObject({
        kind: 'oauth',
        accessToken: renewedToken,
        refreshToken: 'cfr_2',
      });
    });

    it('renews once when the server calls the token expired, and stops when the refresh is refused', async () => {
      new ConfigStore(join(home, 'cloudflow', 'config.json')).saveProfile('default', {
        url: server.url,
        credential: {
          kind: 'oauth',
          clientId: 'cli_cli',
          accessToken: firstToken,
          refreshToken: 'cfr_1',
          expiresAt: new Date(Date.now() + 600_000).toISOString(),
        },
      });
      server.on('POST', '/api/v1/oauth/token', {
        status: 400,
        body: {
          error: 'invalid_grant',
          error_description: 'Invalid grant: refresh token is invalid',
          code: 4000,
        },
      });

      const whoami = await cli(['whoami']);

      expect(whoami.code).toBe(2);
      expect(whoami.stderr).toBe(
        `error: the sign-in to ${server.url} has ended (Invalid grant: refresh token is invalid): run \`cloudflow login --oauth --client-id cli_cli\` again\n`,
      );
      expect(server.requestsTo('POST', '/api/v1/oauth/token')).toHaveLength(1);
    });

    it('says what is missing without --client-id', async () => {
      const login = await cli(['login', '--oauth']);

      expect(login.code).toBe(2);
      expect(login.stderr).toContain('--oauth needs --client-id');
    });
  });
});
