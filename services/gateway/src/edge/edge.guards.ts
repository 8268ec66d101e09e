import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CredentialAuthGuard } from '../auth/credential-auth.guard';
import { RateLimitGuard } from '../rate-limit/rate-limit.guard';

/**
 * Every `/api/v1` route but OAuth's: authenticate, then count the request —
 * against the caller's quotas when the credential is good, against the
 * client IP's when it is not (so guessing keys is limited too) — and only
 * then refuse a bad credential. Both answers carry the RateLimit fields. A
 * client IP already over its anonymous quota is refused first, whatever
 * credential it sends, so keys cannot be guessed past the limit.
 */
@Injectable()
export class ApiGuard implements CanActivate {
  constructor(
    private readonly credentials: CredentialAuthGuard,
    private readonly rateLimit: RateLimitGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    this.rateLimit.refuseExhaustedIp(context);
    let refusal: unknown;
    try {
      await this.credentials.canActivate(context);
    } catch (error) {
      refusal = error;
    }
    await this.rateLimit.canActivate(context);
    if (refusal !== undefined) throw refusal;
    return true;
  }
}

/** Routes open without a credential (OAuth sign-in and token): counted per client IP. */
@Injectable()
export class PublicGuard implements CanActivate {
  constructor(private readonly rateLimit: RateLimitGuard) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.rateLimit.canActivate(context);
  }
}
