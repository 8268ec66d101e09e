import type { CliContext } from '../cli-context';
import { ApiError, UsageError } from '../cli-errors';
import { ApiClient, type Authorizer } from '../http/api-client';
import { OAuthAuthorizer } from '../auth/oauth-authorizer';
import { isExpired, refreshCredential } from '../auth/oauth-tokens';
import { ConfigStore, type OAuthCredential, type StoredCredential } from './config-store';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const DEFAULT_PROFILE = 'default';

/** Options every command takes. */
export interface GlobalOptions {
  url?: string;
  profile?: string;
  json?: boolean;
}

/** Where the credential in use came from, as `whoami` tells it. */
export type CredentialSource = 'CLOUDFLOW_API_KEY' | 'config' | 'none';

/**
 * Which server, which credential, and an API client using them. The URL is
 * `--url`, then CLOUDFLOW_URL, then the profile's, then the default; the
 * credential is CLOUDFLOW_API_KEY, then the profile's — but a stored
 * credential is only ever sent to the server it was issued by, so pointing
 * `--url` elsewhere cannot leak it.
 */
export class Session {
  readonly store: ConfigStore;
  readonly profileName: string;
  readonly url: string;
  readonly credential: StoredCredential | undefined;
  readonly source: CredentialSource;
  /** The profile's server, when the profile is for another one than `url`. */
  readonly otherProfileUrl: string | undefined;
  private client: ApiClient | undefined;

  constructor(
    private readonly ctx: CliContext,
    options: GlobalOptions,
  ) {
    this.store = ConfigStore.locate(ctx.env);
    this.profileName = options.profile ?? ctx.env['CLOUDFLOW_PROFILE'] ?? DEFAULT_PROFILE;
    const profile = this.store.profile(this.profileName);
    this.url = normalizeUrl(options.url ?? ctx.env['CLOUDFLOW_URL'] ?? profile?.url ?? DEFAULT_URL);
    const envKey = ctx.env['CLOUDFLOW_API_KEY'];
    if (envKey) {
      this.credential = { kind: 'api-key', apiKey: envKey };
      this.source = 'CLOUDFLOW_API_KEY';
    } else if (profile && normalizeUrl(profile.url) === this.url) {
      this.credential = profile.credential;
      this.source = 'config';
    } else {
      this.source = 'none';
    }
    this.otherProfileUrl =
      profile && normalizeUrl(profile.url) !== this.url ? normalizeUrl(profile.url) : undefined;
  }

  /** A client of the API signed in as this session; refuses to start without a credential. */
  get api(): ApiClient {
    this.client ??= new ApiClient(this.url, this.authorizer());
    return this.client;
  }

  /** A client without a credential (OAuth endpoints, checking a new key). */
  anonymousApi(): ApiClient {
    return new ApiClient(this.url, undefined);
  }

  private authorizer(): Authorizer {
    const credential = this.credential;
    if (!credential) {
      const elsewhere = this.otherProfileUrl
        ? ` (profile '${this.profileName}' is for ${this.otherProfileUrl})`
        : '';
      const missing = new UsageError(
        `not logged in to ${this.url}${elsewhere}: run \`cloudflow login --url ${this.url}\` or set CLOUDFLOW_API_KEY`,
      );
      return { header: () => Promise.reject(missing) };
    }
    if (credential.kind === 'api-key') {
      return { header: () => Promise.resolve(`ApiKey ${credential.apiKey}`) };
    }
    return new OAuthAuthorizer(credential, (current) => this.refresh(current), this.ctx.now);
  }

  private async refresh(current: OAuthCredential): Promise<OAuthCredential> {
    // Refresh tokens rotate and a reused one ends the whole sign-in: if another
    // cloudflow process has refreshed meanwhile, take its tokens instead.
    const stored = this.store.profile(this.profileName)?.credential;
    if (
      stored?.kind === 'oauth' &&
      stored.refreshToken !== current.refreshToken &&
      !isExpired(stored, this.ctx.now())
    ) {
      return stored;
    }
    let fresh: OAuthCredential;
    try {
      fresh = await refreshCredential(this.anonymousApi(), current, this.ctx.now());
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        throw new UsageError(
          `the sign-in to ${this.url} has ended (${error.envelope.details ?? error.envelope.error}): run \`cloudflow login --oauth --client-id ${current.clientId}\` again`,
        );
      }
      throw error;
    }
    this.store.saveProfile(this.profileName, { url: this.url, credential: fresh });
    return fresh;
  }
}

/** `http://host:port` without a trailing slash; anything else is a usage error. */
export function normalizeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`'${value}' is not a URL; give the server as http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`'${value}' is not an http:// or https:// URL`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
