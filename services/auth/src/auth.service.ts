import formBody from '@fastify/formbody';
import { defineService } from '@cloudflow/runtime';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthConfigSchema } from './auth.config';
import { OAuthModule } from './oauth/oauth.module';

/** The auth service: run as its own process by main.ts, or composed in standalone mode. */
export const authService = defineService({
  name: 'auth',
  configSchema: AuthConfigSchema,
  mongo: true,
  rpcServer: true,
  features: (config) => [
    ApiKeysModule.forRoot({ bootstrapKey: config.CLOUDFLOW_BOOTSTRAP_API_KEY }),
    OAuthModule.forRoot({
      secretKey: config.CLOUDFLOW_SECRET_KEY,
      previousSecretKeys: config.CLOUDFLOW_SECRET_KEY_PREVIOUS,
      issuer: config.OAUTH_ISSUER,
      accessTokenLifetimeSeconds: config.OAUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenLifetimeSeconds: config.OAUTH_REFRESH_TOKEN_TTL_SECONDS,
      codeLifetimeSeconds: config.OAUTH_CODE_TTL_SECONDS,
    }),
  ],
  // The sign-in pages post forms; only auth reads them (the gateway forwards them as they are).
  configure: async (app) => {
    await app.register(formBody, { bodyLimit: 16 * 1024 });
  },
});
