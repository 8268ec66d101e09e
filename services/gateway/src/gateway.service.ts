import { defineService } from '@cloudflow/runtime';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { DataSourcesModule } from './datasources/datasources.module';
import { DocsModule } from './docs/docs.module';
import { EdgeModule } from './edge/edge.module';
import { GatewayConfigSchema } from './gateway.config';
import { hardenHttp } from './http/harden-http';
import { JobsModule } from './jobs/jobs.module';
import { OAuthModule } from './oauth/oauth.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { UsersModule } from './users/users.module';
import { WorkspacesModule } from './workspaces/workspaces.module';

/**
 * The gateway service: run as its own process by main.ts, or composed in
 * standalone mode. It keeps no state of its own; MongoDB holds only the
 * rate-limit counters its replicas share (ADR 0008).
 */
export const gatewayService = defineService({
  name: 'gateway',
  configSchema: GatewayConfigSchema,
  mongo: true,
  rpcServer: false,
  rpcTimeoutMs: (config) => config.RPC_TIMEOUT_MS,
  features: (config) => [
    EdgeModule.forRoot({
      credentialCacheTtlMs: config.AUTH_CACHE_TTL_MS,
      rateLimit: {
        windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
        perPrincipal: config.RATE_LIMIT_REQUESTS,
        costlyPerPrincipal: config.RATE_LIMIT_COSTLY_REQUESTS,
        anonymousPerIp: config.RATE_LIMIT_ANONYMOUS_REQUESTS,
      },
    }),
    PipelinesModule,
    JobsModule,
    ApiKeysModule,
    WorkspacesModule,
    UsersModule,
    OAuthModule,
    DataSourcesModule,
    DocsModule,
  ],
  bodyLimit: (config) => config.MAX_BODY_BYTES,
  trustProxy: (config) => config.TRUST_PROXY,
  configure: (app, config) =>
    hardenHttp(app, { authHttpUrl: config.AUTH_HTTP_URL, rpcTimeoutMs: config.RPC_TIMEOUT_MS }),
});
