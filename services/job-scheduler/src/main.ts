import './tracing';
import { runService } from '@cloudflow/runtime';
import { jobSchedulerService } from './job-scheduler.service';

void runService(jobSchedulerService);
