import './tracing';
import { runService } from '@cloudflow/runtime';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { GatewayConfigSchema } from './gateway.config';
import { hardenHttp } from './http/harden-http';
import { JobsModule } from './jobs/jobs.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { WorkspacesModule } from './workspaces/workspaces.module';

// The gateway is stateless: Kafka only, no MongoDB.
void runService({
  name: 'gateway',
  configSchema: GatewayConfigSchema,
  mongo: false,
  rpcServer: false,
  rpcTimeoutMs: (config) => config.RPC_TIMEOUT_MS,
  features: (config) => [
    AuthModule.forRoot({ cacheTtlMs: config.AUTH_CACHE_TTL_MS }),
    PipelinesModule,
    JobsModule,
    ApiKeysModule,
    WorkspacesModule,
  ],
  bodyLimit: (config) => config.MAX_BODY_BYTES,
  configure: (app) => hardenHttp(app),
});
