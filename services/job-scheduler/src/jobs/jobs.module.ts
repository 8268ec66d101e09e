import { Module, type DynamicModule } from '@nestjs/common';
import { dataSourceAccessProviders } from '@cloudflow/connectors';
import { JobStoreModule } from '@cloudflow/job-store';
import type { JobSchedulerConfig } from '../job-scheduler.config';
import { JobEventsConsumer } from '../execution/job-events.consumer';
import { JobPlanner } from '../execution/job-planner';
import { JobReconciler } from '../execution/job-reconciler';
import { JobSweeper } from '../execution/job-sweeper';
import { SchedulerMetrics } from '../execution/scheduler-metrics';
import { SCHEDULER_CONFIG } from '../execution/scheduler-settings';
import { TaskDispatcher } from '../execution/task-dispatcher';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';

@Module({})
export class JobsModule {
  static forRoot(config: JobSchedulerConfig): DynamicModule {
    return {
      module: JobsModule,
      imports: [JobStoreModule],
      controllers: [JobsController],
      providers: [
        { provide: SCHEDULER_CONFIG, useValue: config },
        ...dataSourceAccessProviders(config),
        JobsService,
        TaskDispatcher,
        JobReconciler,
        JobPlanner,
        JobSweeper,
        JobEventsConsumer,
        SchedulerMetrics,
      ],
    };
  }
}
