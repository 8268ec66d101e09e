import './tracing';
import { runService } from '@cloudflow/runtime';
import { AppModule } from './app.module';
import { JobSchedulerConfigSchema } from './job-scheduler.config';

void runService({
  name: 'job-scheduler',
  configSchema: JobSchedulerConfigSchema,
  rootModule: (config) => AppModule.forRoot(config),
  rpcServer: false,
});
