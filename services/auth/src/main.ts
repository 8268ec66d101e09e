import './tracing';
import { runService } from '@cloudflow/runtime';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthConfigSchema } from './auth.config';

void runService({
  name: 'auth',
  configSchema: AuthConfigSchema,
  mongo: true,
  rpcServer: true,
  features: (config) => [
    ApiKeysModule.forRoot({ bootstrapKey: config.CLOUDFLOW_BOOTSTRAP_API_KEY }),
  ],
});
