import './tracing';
import { runService } from '@cloudflow/runtime';
import { AppModule } from './app.module';
import { GatewayConfigSchema } from './gateway.config';
import { hardenHttp } from './http/harden-http';

void runService({
  name: 'gateway',
  configSchema: GatewayConfigSchema,
  rootModule: (config) => AppModule.forRoot(config),
  rpcServer: false,
  bodyLimit: (config) => config.MAX_BODY_BYTES,
  configure: (app) => hardenHttp(app),
});
