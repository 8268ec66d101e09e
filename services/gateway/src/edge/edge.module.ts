import { Module, type DynamicModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AccessTokenVerifier } from '../auth/access-token.verifier';
import { ApiKeyStrategy, CREDENTIAL_CACHE } from '../auth/api-key.strategy';
import { BearerStrategy } from '../auth/bearer.strategy';
import { CredentialAuthGuard } from '../auth/credential-auth.guard';
import { CredentialCache } from '../auth/credential-cache';
import { RateLimitModule, type RateLimitOptions } from '../rate-limit/rate-limit.module';
import { ApiGuard, PublicGuard } from './edge.guards';

export interface EdgeOptions {
  /** How long a verified credential is trusted without asking auth again. */
  credentialCacheTtlMs: number;
  rateLimit: RateLimitOptions;
}

/** Who is calling and how often: the guards every gateway route stands behind. */
@Module({})
export class EdgeModule {
  static forRoot(options: EdgeOptions): DynamicModule {
    return {
      module: EdgeModule,
      global: true,
      imports: [
        PassportModule.register({ session: false }),
        RateLimitModule.forRoot(options.rateLimit),
      ],
      providers: [
        ApiKeyStrategy,
        BearerStrategy,
        AccessTokenVerifier,
        CredentialAuthGuard,
        ApiGuard,
        PublicGuard,
        { provide: CREDENTIAL_CACHE, useValue: new CredentialCache(options.credentialCacheTtlMs) },
      ],
      // Guards are built in each controller's module, so what they inject is exported too.
      exports: [PassportModule, CredentialAuthGuard, ApiGuard, PublicGuard],
    };
  }
}
