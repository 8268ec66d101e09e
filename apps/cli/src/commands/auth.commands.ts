import type { Command } from 'commander';
import type { Workspace } from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { CommandExit, EXIT, UsageError } from '../cli-errors';
import type { OAuthCredential, StoredCredential } from '../config/config-store';
import { ApiClient } from '../http/api-client';
import {
  CALLBACK_PATH,
  startLoopbackReceiver,
  type CallbackResult,
} from '../auth/loopback-receiver';
import { exchangeCode, revokeCredential } from '../auth/oauth-tokens';
import { pkcePair, randomState } from '../auth/pkce';
import { canPrompt, promptSecret } from '../auth/secret-prompt';
import { formatDuration } from '../jobs/progress-format';
import { scopeOf, seconds, secretPrefix, type CommandScope } from './command-kit';

const WORKSPACE_PATH = '/api/v1/workspaces/current';

interface LoginOptions {
  apiKey?: string;
  oauth?: boolean;
  clientId?: string;
  scope?: string;
  browser: boolean;
  timeout: number;
}

export function registerAuthCommands(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('sign in to a CloudFlow server: with an API key, or in a browser (OAuth)')
    .option('--api-key <key>', 'the API key (else CLOUDFLOW_API_KEY, else asked for without echo)')
    .option('--oauth', 'sign in as a user in the browser (authorization code + PKCE)')
    .option('--client-id <id>', 'with --oauth: the public OAuth client to sign in through')
    .option('--scope <scopes>', "with --oauth: the scopes to ask for, e.g. 'read write'")
    .option('--no-browser', 'with --oauth: only print the sign-in URL, do not open a browser')
    .option('--timeout <seconds>', 'with --oauth: how long to wait for the sign-in', seconds, 300)
    .addHelpText(
      'after',
      `
The credential is saved in $XDG_CONFIG_HOME/cloudflow/config.json (mode 0600) for
the server given by --url (or CLOUDFLOW_URL), and only ever sent to that server.
With --oauth, the client must be public and registered with the redirect URI
http://127.0.0.1${CALLBACK_PATH} (any port is accepted for it, RFC 8252).

Examples:
  cloudflow login --api-key cfk_...
  cloudflow login --url https://cloudflow.example.com --oauth --client-id cli_...`,
    )
    .action(async (options: LoginOptions, command: Command) => {
      const scope = scopeOf(ctx, command);
      if (options.oauth) await loginWithOAuth(scope, options);
      else await loginWithApiKey(scope, options);
    });

  program
    .command('logout')
    .description('forget the saved credential (an OAuth sign-in is also revoked on the server)')
    .action(async (_options: unknown, command: Command) => {
      await logout(scopeOf(ctx, command));
    });

  program
    .command('whoami')
    .description('show which server and credential are in use, and check that they work')
    .action(async (_options: unknown, command: Command) => {
      await whoami(scopeOf(ctx, command));
    });
}

async function loginWithApiKey(scope: CommandScope, options: LoginOptions): Promise<void> {
  const { ctx, session } = scope;
  if (options.clientId) throw new UsageError('--client-id goes with --oauth');
  let apiKey = options.apiKey ?? ctx.env['CLOUDFLOW_API_KEY'];
  if (!apiKey) {
    if (!canPrompt(ctx)) {
      throw new UsageError(
        'give the key with --api-key KEY or CLOUDFLOW_API_KEY (no terminal to ask on)',
      );
    }
    apiKey = (await promptSecret(ctx, `API key for ${session.url}: `)).trim();
    if (!apiKey) throw new UsageError('no API key given');
  }
  const credential: StoredCredential = { kind: 'api-key', apiKey };
  // Checked before it is saved: a mistyped key is refused now, not on the next command.
  const workspace = await new ApiClient(session.url, {
    header: () => Promise.resolve(`ApiKey ${apiKey}`),
  }).get<Workspace>(WORKSPACE_PATH);
  session.store.saveProfile(session.profileName, { url: session.url, credential });
  reportLogin(scope, credential, workspace);
}

async function loginWithOAuth(scope: CommandScope, options: LoginOptions): Promise<void> {
  const { ctx, session, printer } = scope;
  if (!options.clientId) {
    throw new UsageError(
      `--oauth needs --client-id: a public OAuth client registered with the redirect URI http://127.0.0.1${CALLBACK_PATH}`,
    );
  }
  if (options.apiKey)
    throw new UsageError('--api-key and --oauth are two ways to log in: choose one');
  const clientId = options.clientId;
  const { verifier, challenge } = pkcePair();
  const state = randomState();
  const receiver = await startLoopbackReceiver(state);
  let result: CallbackResult;
  try {
    const authorize = new URL(`${session.url}/auth/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: receiver.redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...(options.scope && { scope: options.scope }),
    }).toString();
    printer.note(
      `Open this URL in a browser to sign in to CloudFlow:\n\n  ${authorize.toString()}\n`,
    );
    printer.note(
      `Waiting for the sign-in (up to ${formatDuration(options.timeout)}; Ctrl-C to give up)...`,
    );
    if (options.browser) ctx.openBrowser(authorize.toString());
    result = await waitFor(ctx, receiver.result, options.timeout * 1000);
  } finally {
    receiver.close();
  }
  if (!result.ok) {
    throw new UsageError(`the sign-in was refused: ${result.description ?? result.error}`);
  }
  const credential = await exchangeCode(
    session.anonymousApi(),
    { clientId, code: result.code, redirectUri: receiver.redirectUri, verifier },
    ctx.now(),
  );
  const workspace = await new ApiClient(session.url, {
    header: () => Promise.resolve(`Bearer ${credential.accessToken}`),
  }).get<Workspace>(WORKSPACE_PATH);
  session.store.saveProfile(session.profileName, { url: session.url, credential });
  reportLogin(scope, credential, workspace);
}

/** The callback, unless the time runs out or the user presses Ctrl-C first. */
async function waitFor<T>(ctx: CliContext, result: Promise<T>, timeoutMs: number): Promise<T> {
  let onSignal: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = () => reject(new CommandExit(EXIT.interrupted));
    ctx.signals.once('SIGINT', onSignal);
    timer = setTimeout(
      () =>
        reject(
          new UsageError(
            `no sign-in within ${formatDuration(timeoutMs / 1000)}; run the login again`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([result, interrupted]);
  } finally {
    if (onSignal) ctx.signals.off('SIGINT', onSignal);
    clearTimeout(timer);
  }
}

function reportLogin(
  scope: CommandScope,
  credential: StoredCredential,
  workspace: Workspace,
): void {
  const { session, printer } = scope;
  if (printer.json) {
    printer.document({
      url: session.url,
      profile: session.profileName,
      credential: describeCredential(credential),
      workspace,
    });
    return;
  }
  printer.line(
    `Logged in to ${session.url} (workspace ${workspace.name}, ${workspace.id}) with ${credentialWords(credential, scope.ctx.now())}.`,
  );
  printer.line(`Saved as profile '${session.profileName}' in ${session.store.path}`);
}

async function logout(scope: CommandScope): Promise<void> {
  const { session, printer, ctx } = scope;
  const profile = session.store.profile(session.profileName);
  let revoked = false;
  if (profile?.credential.kind === 'oauth') {
    try {
      await revokeCredential(new ApiClient(profile.url, undefined), profile.credential);
      revoked = true;
    } catch (error) {
      printer.note(
        `warning: could not revoke the sign-in on ${profile.url}: ${(error as Error).message}`,
      );
    }
  }
  const removed = session.store.removeProfile(session.profileName);
  if (printer.json) {
    printer.document({ profile: session.profileName, url: profile?.url ?? null, removed, revoked });
  } else if (removed && profile) {
    printer.line(
      `Logged out of ${profile.url} (profile '${session.profileName}')${revoked ? '; the sign-in was revoked' : ''}.`,
    );
  } else {
    printer.line(`Not logged in (profile '${session.profileName}'): nothing to forget.`);
  }
  if (ctx.env['CLOUDFLOW_API_KEY']) {
    printer.note('note: CLOUDFLOW_API_KEY is still set in this environment and still applies.');
  }
}

async function whoami(scope: CommandScope): Promise<void> {
  const { session, printer, ctx } = scope;
  // Without a credential this refuses, saying how to log in.
  const workspace = await session.api.get<Workspace>(WORKSPACE_PATH);
  // A refresh during the call above may have replaced the stored tokens.
  const credential =
    session.source === 'config'
      ? (session.store.profile(session.profileName)?.credential ?? session.credential)
      : session.credential;
  if (!credential) return;
  if (printer.json) {
    printer.document({
      url: session.url,
      profile: session.profileName,
      credential: { ...describeCredential(credential), source: session.source },
      workspace,
    });
    return;
  }
  printer.fields([
    ['Server', session.url],
    ['Credential', credentialWords(credential, ctx.now())],
    [
      'From',
      session.source === 'config'
        ? `profile '${session.profileName}' in ${session.store.path}`
        : session.source,
    ],
    ['Workspace', `${workspace.name} (${workspace.id})`],
  ]);
}

/** What may be shown of a credential: never the secret itself. */
function describeCredential(credential: StoredCredential): Record<string, unknown> {
  if (credential.kind === 'api-key')
    return { kind: 'api-key', prefix: secretPrefix(credential.apiKey) };
  const claims = accessTokenClaims(credential);
  return {
    kind: 'oauth',
    clientId: credential.clientId,
    subject: claims.sub ?? null,
    scope: credential.scope ?? claims.scope ?? null,
    expiresAt: credential.expiresAt,
  };
}

function credentialWords(credential: StoredCredential, now: number): string {
  if (credential.kind === 'api-key') return `API key ${secretPrefix(credential.apiKey)}`;
  const claims = accessTokenClaims(credential);
  const left = (Date.parse(credential.expiresAt) - now) / 1000;
  const expiry = left > 0 ? `expires in ${formatDuration(left)}` : 'expired';
  return (
    `OAuth user token (${claims.sub ?? 'unknown user'}, client ${credential.clientId}, ` +
    `scopes ${credential.scope ?? claims.scope ?? '?'}, ${expiry}; renewed with the refresh token)`
  );
}

/**
 * The access token's claims, read without checking the signature: only to
 * show who it is for. The server is what checks it.
 */
function accessTokenClaims(credential: OAuthCredential): { sub?: string; scope?: string } {
  try {
    const payload = credential.accessToken.split('.')[1] ?? '';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return {
      ...(typeof claims['sub'] === 'string' && { sub: claims['sub'] }),
      ...(typeof claims['scope'] === 'string' && { scope: claims['scope'] }),
    };
  } catch {
    return {};
  }
}
