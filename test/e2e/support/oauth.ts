import { createHash, randomBytes } from 'node:crypto';
import type { CreatedOAuthClient, User } from '@cloudflow/contracts';
import type { ApiClient } from '@cloudflow/testing';

/** A PKCE pair (RFC 7636, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The redirect target, for a 302. */
  location: string | undefined;
}

/**
 * A browser as far as the OAuth pages need one: it keeps cookies, follows
 * nothing by itself (the test reads each redirect), and posts forms.
 */
export class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  get(path: string): Promise<HttpAnswer> {
    return this.send('GET', path);
  }

  postForm(path: string, fields: Record<string, string>): Promise<HttpAnswer> {
    return this.send('POST', path, new URLSearchParams(fields).toString());
  }

  /** Forgets every cookie: another browser, as far as the server can tell. */
  clearCookies(): void {
    this.cookies.clear();
  }

  private async send(method: string, path: string, form?: string): Promise<HttpAnswer> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) {
      headers['Cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    if (form !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: form,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (name) this.cookies.set(name.trim(), value.join('='));
    }
    return {
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      location: res.headers.get('location') ?? undefined,
    };
  }
}

/** The hidden interaction id a sign-in or consent page carries. */
export function interactionOf(html: string): string {
  const match = /name="interaction" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no interaction in page: ${html.slice(0, 300)}`);
  return match[1];
}

export interface AuthorizeParams {
  clientId: string;
  redirectUri?: string;
  challenge?: string;
  method?: string;
  state?: string;
  scope?: string;
  responseType?: string;
}

export function authorizePath(params: AuthorizeParams, path = '/auth/authorize'): string {
  const query = new URLSearchParams({
    response_type: params.responseType ?? 'code',
    client_id: params.clientId,
  });
  if (params.redirectUri !== undefined) query.set('redirect_uri', params.redirectUri);
  if (params.challenge !== undefined) query.set('code_challenge', params.challenge);
  if (params.method !== undefined) query.set('code_challenge_method', params.method);
  if (params.state !== undefined) query.set('state', params.state);
  if (params.scope !== undefined) query.set('scope', params.scope);
  return `${path}?${query.toString()}`;
}

/**
 * The whole browser side: open the authorization URL, sign in, approve.
 * Answers the redirect back to the client (its `code` and `state`).
 */
export async function authorizeAndApprove(
  browser: Browser,
  params: AuthorizeParams,
  user: { username: string; password: string },
  path?: string,
): Promise<URL> {
  const login = await browser.get(authorizePath(params, path));
  if (login.status !== 200) throw new Error(`authorize answered ${login.status}: ${login.text}`);
  const interaction = interactionOf(login.text);
  const consent = await browser.postForm('/auth/login', { interaction, ...user });
  if (consent.status !== 200)
    throw new Error(`sign-in answered ${consent.status}: ${consent.text}`);
  const approved = await browser.postForm('/auth/consent', {
    interaction: interactionOf(consent.text),
    decision: 'approve',
  });
  if (approved.status !== 302 || !approved.location) {
    throw new Error(`consent answered ${approved.status}: ${approved.text}`);
  }
  return new URL(approved.location);
}

export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: {
    access_token?: string;
    refresh_token?: string;
    token_type?: string;
    expires_in?: number;
    scope?: string;
    error?: string;
    error_description?: string;
    code?: number;
  };
}

/** `POST /api/v1/oauth/token`, form-encoded by default or as JSON. */
export async function requestToken(
  baseUrl: string,
  fields: Record<string, string>,
  options: { json?: boolean; basic?: { id: string; secret: string } } = {},
): Promise<TokenAnswer> {
  const headers: Record<string, string> = {
    'Content-Type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
  };
  if (options.basic) {
    headers['Authorization'] =
      `Basic ${Buffer.from(`${options.basic.id}:${options.basic.secret}`).toString('base64')}`;
  }
  const res = await fetch(`${baseUrl}/api/v1/oauth/token`, {
    method: 'POST',
    headers,
    body: options.json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as TokenAnswer['body'],
  };
}

export async function createUser(
  admin: ApiClient,
  username: string,
  password: string,
  scopes?: string[],
): Promise<User> {
  const res = await admin.post<User>('/api/v1/users', {
    username,
    password,
    ...(scopes && { scopes }),
  });
  if (res.status !== 201) throw new Error(`creating user answered ${res.status}: ${res.text}`);
  return res.body;
}

export async function registerClient(admin: ApiClient, body: object): Promise<CreatedOAuthClient> {
  const res = await admin.post<CreatedOAuthClient>('/api/v1/oauth/clients', body);
  if (res.status !== 201) throw new Error(`registering client answered ${res.status}: ${res.text}`);
  return res.body;
}
