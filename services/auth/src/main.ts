import './tracing';
import { runService } from '@cloudflow/runtime';
import { AppModule } from './app.module';
import { AuthConfigSchema } from './auth.config';

void runService({
  name: 'auth',
  configSchema: AuthConfigSchema,
  rootModule: (config) => AppModule.forRoot(config),
  rpcServer: true,
});
