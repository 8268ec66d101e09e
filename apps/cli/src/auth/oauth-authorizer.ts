import type { Authorizer } from '../http/api-client';
import type { OAuthCredential } from '../config/config-store';
import { isExpired } from './oauth-tokens';

/**
 * `Bearer` with the stored access token, renewed with the refresh token when
 * it has expired (or the server says it has): at most once per command, so a
 * refused refresh cannot loop.
 */
export class OAuthAuthorizer implements Authorizer {
  private renewed = false;

  constructor(
    private credential: OAuthCredential,
    private readonly renewWith: (current: OAuthCredential) => Promise<OAuthCredential>,
    private readonly now: () => number,
  ) {}

  async header(): Promise<string> {
    if (!this.renewed && this.credential.refreshToken && isExpired(this.credential, this.now())) {
      await this.renewNow();
    }
    return `Bearer ${this.credential.accessToken}`;
  }

  async renew(): Promise<boolean> {
    if (this.renewed || !this.credential.refreshToken) return false;
    await this.renewNow();
    return true;
  }

  private async renewNow(): Promise<void> {
    this.renewed = true;
    this.credential = await this.renewWith(this.credential);
  }
}
