import { Module, type DynamicModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ApiAuthGuard } from './api-auth.guard';
import { ApiKeyStrategy, CREDENTIAL_CACHE } from './api-key.strategy';
import { CredentialCache } from './credential-cache';

@Module({})
export class AuthModule {
  static forRoot(options: { cacheTtlMs: number }): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: [PassportModule.register({ session: false })],
      providers: [
        ApiKeyStrategy,
        ApiAuthGuard,
        { provide: CREDENTIAL_CACHE, useValue: new CredentialCache(options.cacheTtlMs) },
      ],
      exports: [ApiAuthGuard],
    };
  }
}
