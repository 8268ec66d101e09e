import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import OAuth2Server, { OAuthError } from '@node-oauth/oauth2-server';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { PASSWORD_HASH_COST, SCOPES } from '@cloudflow/contracts';
import { OAuthClientsRepository } from '../oauth-clients/oauth-clients.repository';
import { UsersRepository } from '../users/users.repository';
import {
  OAuthModel,
  REFRESH_TOKEN_PREFIX,
  toModelClient,
  type GrantHolder,
  type ModelClient,
} from './oauth.model';
import { OAuthStore, sha256 } from './oauth.store';
import { isAllowedRedirectUri } from './redirect-uri';
import { consentPage, errorPage, loginPage } from './pages';
import { SigningKeys } from './signing-keys';

/** What an OAuth endpoint answers: a page, a redirect, or JSON. */
export type OAuthAnswer =
  | { kind: 'page'; status: number; html: string; setCookie?: string }
  | { kind: 'redirect'; location: string }
  | {
      kind: 'json';
      status: number;
      body: Record<string, unknown>;
      headers?: Record<string, string>;
    };

/** Reads a cookie of the request by name. */
export type CookieJar = (name: string) => string | undefined;

/**
 * The cookie binding an interaction to its browser, named after the
 * interaction so that sign-ins in several tabs do not overwrite each other.
 */
export function browserCookieName(interaction: string): string {
  return `cf_oauth_${sha256(interaction).slice(0, 16)}`;
}
const INTERACTION_LIFETIME_MS = 10 * 60_000;
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
const BAD_SIGN_IN = 'Incorrect username or password.';
const EXPIRED = 'This sign-in has expired or is unknown. Start again from the application.';

/**
 * The authorization-code flow around the sign-in and consent pages:
 * `/auth/authorize` (alias `/auth/fake-oauth`) checks the request and opens
 * an interaction bound to the browser by a cookie; `/auth/login` signs the
 * user in; `/auth/consent` records the answer once and lets the library
 * issue the code and the redirect. The token endpoint is the library's too.
 */
@Injectable()
export class AuthorizationService implements OnModuleInit {
  private readonly logger = new Logger(AuthorizationService.name);
  private readonly server: OAuth2Server;
  /** Verified against when a username is unknown, so both cost the same time. */
  private decoyHash = '';

  constructor(
    private readonly model: OAuthModel,
    private readonly store: OAuthStore,
    private readonly clients: OAuthClientsRepository,
    private readonly users: UsersRepository,
    private readonly keys: SigningKeys,
  ) {
    this.server = new OAuth2Server({
      model,
      ...model.lifetimes,
      allowEmptyState: true,
      // Public clients send no secret; the model refuses a confidential
      // client that does not authenticate.
      requireClientAuthentication: { authorization_code: false, refresh_token: false },
      alwaysIssueNewRefreshToken: true,
    });
  }

  async onModuleInit(): Promise<void> {
    this.decoyHash = await argon2.hash(randomBytes(16).toString('hex'), {
      type: argon2.argon2id,
      ...PASSWORD_HASH_COST,
    });
  }

  /** `GET /auth/authorize`: refuses what it must, then shows the sign-in page. */
  async start(query: Record<string, unknown>, secureCookie: boolean): Promise<OAuthAnswer> {
    const params = singleValued(query);
    if (!params) {
      return badRequest('Invalid request', 'Each parameter may be sent only once.');
    }
    const clientId = params['client_id'];
    const doc = clientId ? await this.clients.findByClientId(clientId) : null;
    if (!doc) return badRequest('Unknown application', 'The client_id is missing or unknown.');
    const client = toModelClient(doc);
    // RFC 6749 4.1.2.1: without a valid redirect URI, tell the user, never redirect.
    const redirectUri =
      params['redirect_uri'] ??
      (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    if (!redirectUri || !isAllowedRedirectUri(client, redirectUri)) {
      return badRequest(
        'Invalid redirect URI',
        'The redirect_uri is missing or is not registered for this application.',
      );
    }
    const refuse = (error: string, description: string) =>
      redirectWithError(redirectUri, error, description, params['state']);
    if (params['response_type'] !== 'code') {
      return refuse('unsupported_response_type', 'response_type must be code');
    }
    if (!client.grants.includes('authorization_code')) {
      return refuse('unauthorized_client', 'this client may not use the authorization code grant');
    }
    const challenge = params['code_challenge'];
    const method = params['code_challenge_method'];
    if (challenge === undefined && method !== undefined) {
      return refuse('invalid_request', 'code_challenge_method without code_challenge');
    }
    if (challenge !== undefined) {
      if (method !== 'S256') {
        return refuse('invalid_request', 'code_challenge_method must be S256');
      }
      if (!CODE_CHALLENGE.test(challenge)) {
        return refuse(
          'invalid_request',
          'code_challenge must be 43-128 characters of [A-Za-z0-9._~-]',
        );
      }
    } else if (client.type === 'public') {
      return refuse(
        'invalid_request',
        'PKCE is required: send code_challenge with code_challenge_method=S256',
      );
    }
    const requested = params['scope']?.split(' ').filter(Boolean);
    if (requested?.some((s) => !(SCOPES as readonly string[]).includes(s))) {
      return refuse('invalid_scope', `scope may contain only: ${SCOPES.join(', ')}`);
    }

    const interaction = randomBytes(32).toString('base64url');
    const browser = randomBytes(32).toString('base64url');
    await this.store.saveInteraction(interaction, {
      params: {
        ...params,
        redirect_uri: redirectUri,
        redirect_uri_sent: params['redirect_uri'] === undefined ? 'false' : 'true',
      },
      browserHash: sha256(browser),
      expiresAt: new Date(Date.now() + INTERACTION_LIFETIME_MS),
    });
    return {
      kind: 'page',
      status: 200,
      html: loginPage({ interaction, clientName: doc.name }),
      setCookie: browserCookie(interaction, browser, secureCookie),
    };
  }

  /** `POST /auth/login`: checks the password, then asks for consent. */
  async signIn(form: Record<string, unknown>, cookies: CookieJar): Promise<OAuthAnswer> {
    const opened = await this.openInteraction(form, cookies);
    if ('kind' in opened) return opened;
    const { interaction, params, client, clientName, redirectUri } = opened;
    const username = typeof form['username'] === 'string' ? form['username'].trim() : '';
    const password = typeof form['password'] === 'string' ? form['password'] : '';
    const user =
      username && username.length <= 100
        ? await this.users.findByUsernameForSignIn(client.workspaceId, username)
        : null;
    const passwordOk = await argon2
      .verify(user?.passwordHash ?? this.decoyHash, password.slice(0, 1024))
      .catch(() => false);
    // Users are looked up in the client's workspace: a user of another
    // workspace is unknown here, and is told exactly what a wrong password is told.
    if (!user || !passwordOk || user.workspaceId !== client.workspaceId) {
      this.logger.log({ clientId: client.id }, 'OAuth sign-in refused');
      return {
        kind: 'page',
        status: 401,
        html: loginPage({ interaction, clientName, error: BAD_SIGN_IN, username }),
      };
    }
    if (!(await this.store.recordSignIn(interaction, user._id))) {
      if ((await this.store.signedInUser(interaction)) !== user._id) {
        return badRequest(
          'Sign-in already used',
          'Someone else signed in to this request. Start again.',
        );
      }
    }
    const holder: GrantHolder = {
      kind: 'user',
      id: user._id,
      workspaceId: user.workspaceId,
      scopes: user.scopes,
    };
    const scopes =
      (await this.model.validateScope(
        holder,
        client,
        params['scope']?.split(' ').filter(Boolean),
      )) || [];
    if (scopes.length === 0) {
      await this.store.recordDecision(interaction);
      return redirectWithError(
        redirectUri,
        'invalid_scope',
        'none of the requested scopes can be granted',
        params['state'],
      );
    }
    return {
      kind: 'page',
      status: 200,
      html: consentPage({ interaction, clientName, username: user.username, scopes }),
    };
  }

  /** `POST /auth/consent`: one answer per sign-in; approval issues the code. */
  async decide(form: Record<string, unknown>, cookies: CookieJar): Promise<OAuthAnswer> {
    const opened = await this.openInteraction(form, cookies);
    if ('kind' in opened) return opened;
    const { interaction, params, redirectUri } = opened;
    const userId = await this.store.signedInUser(interaction);
    const user = userId ? await this.users.findByIdForGrant(userId) : null;
    if (!user)
      return badRequest(
        'Not signed in',
        'Sign in before answering. Start again from the application.',
      );
    if (!(await this.store.recordDecision(interaction))) {
      return badRequest(
        'Already answered',
        'This request was already answered. Start again from the application.',
      );
    }
    if (form['decision'] !== 'approve') {
      return redirectWithError(
        redirectUri,
        'access_denied',
        'the user denied access',
        params['state'],
      );
    }
    const holder: GrantHolder = {
      kind: 'user',
      id: user._id,
      workspaceId: user.workspaceId,
      scopes: user.scopes,
      redirectUriSent: params['redirect_uri_sent'] !== 'false',
    };
    const request = new OAuth2Server.Request({
      method: 'POST',
      headers: {},
      query: {},
      body: params,
    });
    const response = new OAuth2Server.Response({ headers: {} });
    try {
      await this.server.authorize(request, response, {
        authenticateHandler: { handle: () => holder },
      } as OAuth2Server.AuthorizeOptions);
    } catch (error) {
      const location = response.get('location') as string | undefined;
      if (location) return { kind: 'redirect', location };
      this.logger.warn({ err: error }, 'authorization failed');
      return badRequest('Authorization failed', 'The request could not be completed. Start again.');
    }
    this.logger.log(
      { clientId: params['client_id'], userId: user._id },
      'authorization code issued',
    );
    return { kind: 'redirect', location: response.get('location') as string };
  }

  /**
   * `POST /api/v1/oauth/token`, form-encoded (RFC 6749) or JSON (the
   * published example `{"code": "..."}`, grant_type implied). Errors are
   * RFC 6749 5.2 bodies, with CloudFlow's `code` and `details` added.
   */
  async token(
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<OAuthAnswer> {
    const fields =
      body && typeof body === 'object' && !Array.isArray(body)
        ? singleValued(body as Record<string, unknown>)
        : undefined;
    if (!fields) {
      return tokenError(
        400,
        'invalid_request',
        'the body must be form-encoded or a JSON object of strings',
      );
    }
    if (fields['grant_type'] === undefined && fields['code'] !== undefined) {
      fields['grant_type'] = 'authorization_code';
    }
    const request = new OAuth2Server.Request({
      method: 'POST',
      query: {},
      body: fields,
      headers: {
        // The library reads form fields; a JSON body has been turned into them.
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': '1',
        ...(typeof headers['authorization'] === 'string' && {
          authorization: headers['authorization'],
        }),
      },
    });
    const response = new OAuth2Server.Response({ headers: {} });
    try {
      await this.server.token(request, response);
      return {
        kind: 'json',
        status: 200,
        body: response.body as Record<string, unknown>,
        headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
      };
    } catch (error) {
      if (!(error instanceof OAuthError) || error.code >= 500) {
        this.logger.error({ err: error }, 'token request failed');
        return tokenError(
          503,
          'temporarily_unavailable',
          'the token could not be issued; try again',
        );
      }
      const basic = response.get('www-authenticate') as string | undefined;
      return tokenError(error.code, error.name, error.message, basic);
    }
  }

  /**
   * `POST /api/v1/oauth/revoke` (RFC 7009): a client ends a refresh or access
   * token it holds, and with it the whole grant. An unknown or expired token
   * is answered 200 (RFC 7009 2.2); a token issued to another client is
   * refused (2.1).
   */
  async revoke(
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<OAuthAnswer> {
    const fields =
      body && typeof body === 'object' && !Array.isArray(body)
        ? singleValued(body as Record<string, unknown>)
        : undefined;
    const token = fields?.['token'];
    if (!fields || !token) {
      return tokenError(400, 'invalid_request', 'send the token to revoke in `token`');
    }
    const credentials = clientCredentials(fields, headers['authorization']);
    const client = credentials
      ? await this.model.getClient(credentials.id, credentials.secret)
      : false;
    if (!client) {
      return tokenError(
        401,
        'invalid_client',
        'Invalid client: client is invalid',
        credentials?.basic ? 'Basic realm="cloudflow"' : undefined,
      );
    }
    const owner = await this.ownerOfToken(token);
    if (owner && owner.clientId !== client.id) {
      return tokenError(400, 'unauthorized_client', 'the token was not issued to this client');
    }
    if (owner) await this.store.revokeGrant(owner.grantId, 'revoked by the client');
    return { kind: 'json', status: 200, body: {}, headers: { 'Cache-Control': 'no-store' } };
  }

  /** The client and grant of a refresh token or (unexpired) access token, if it is one. */
  private async ownerOfToken(
    token: string,
  ): Promise<{ clientId: string; grantId: string } | undefined> {
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      const doc = await this.store.findRefreshToken(token);
      return doc ? { clientId: doc.clientId, grantId: doc.grantId } : undefined;
    }
    return this.keys.verify(token);
  }

  private async openInteraction(
    form: Record<string, unknown>,
    cookies: CookieJar,
  ): Promise<
    | OAuthAnswer
    | {
        interaction: string;
        params: Record<string, string>;
        client: ModelClient;
        clientName: string;
        redirectUri: string;
      }
  > {
    const interaction = typeof form['interaction'] === 'string' ? form['interaction'] : '';
    const doc = interaction ? await this.store.findInteraction(interaction) : null;
    if (!doc || doc.expiresAt.getTime() < Date.now()) return badRequest('Sign-in expired', EXPIRED);
    const browser = cookies(browserCookieName(interaction));
    if (!browser || sha256(browser) !== doc.browserHash) {
      return {
        kind: 'page',
        status: 403,
        html: errorPage(
          'Different browser',
          'This sign-in was started in another browser. Start again from the application.',
        ),
      };
    }
    const clientDoc = await this.clients.findByClientId(doc.params['client_id'] ?? '');
    if (!clientDoc) return badRequest('Unknown application', 'The application no longer exists.');
    return {
      interaction,
      params: doc.params,
      redirectUri: doc.params['redirect_uri'] ?? '',
      client: toModelClient(clientDoc),
      clientName: clientDoc.name,
    };
  }
}

/** The parameters, each given once as a string; undefined if any repeats or is not a string. */
function singleValued(input: Record<string, unknown>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    if (typeof value !== 'string' || value.length > 4096) return undefined;
    out[name] = value;
  }
  return out;
}

/**
 * The client's credentials: HTTP Basic (RFC 6749 2.3.1, both parts
 * form-urlencoded) or `client_id` / `client_secret` in the body. A public
 * client sends its id alone.
 */
function clientCredentials(
  fields: Record<string, string>,
  authorization: string | string[] | undefined,
): { id: string; secret: string | undefined; basic: boolean } | undefined {
  if (typeof authorization === 'string' && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return undefined;
    try {
      return {
        id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
        secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
        basic: true,
      };
    } catch {
      return undefined;
    }
  }
  const id = fields['client_id'];
  return id ? { id, secret: fields['client_secret'], basic: false } : undefined;
}

function badRequest(title: string, message: string): OAuthAnswer {
  return { kind: 'page', status: 400, html: errorPage(title, message) };
}

function redirectWithError(
  redirectUri: string,
  error: string,
  description: string,
  state: string | undefined,
): OAuthAnswer {
  const url = new URL(redirectUri);
  url.searchParams.set('error', error);
  url.searchParams.set('error_description', description);
  if (state !== undefined) url.searchParams.set('state', state);
  return { kind: 'redirect', location: url.toString() };
}

function tokenError(
  status: number,
  error: string,
  description: string,
  wwwAuthenticate?: string,
): OAuthAnswer {
  return {
    kind: 'json',
    status,
    body: {
      error,
      error_description: description,
      code: status === 401 ? 4010 : status === 503 ? 5030 : 4000,
      details: description,
    },
    headers: {
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      ...(wwwAuthenticate && { 'WWW-Authenticate': wwwAuthenticate }),
    },
  };
}

function browserCookie(interaction: string, value: string, secure: boolean): string {
  const maxAge = INTERACTION_LIFETIME_MS / 1000;
  return `${browserCookieName(interaction)}=${value}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}
