import { Module, type DynamicModule } from '@nestjs/common';
import { dataSourceAccessProviders } from '@cloudflow/connectors';
import { JobStoreModule } from '@cloudflow/job-store';
import { WORKER_METRICS, metricsProvider } from '@cloudflow/runtime';
import type { WorkerConfig } from '../worker.config';
import { TaskConsumer } from './task-consumer';
import { TaskRunner } from './task-runner';
import { WORKER_CONFIG } from './worker-settings';

@Module({})
export class TasksModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: TasksModule,
      imports: [JobStoreModule],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        ...dataSourceAccessProviders(config),
        TaskRunner,
        TaskConsumer,
        metricsProvider(...WORKER_METRICS),
      ],
    };
  }
}
