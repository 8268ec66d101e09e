import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import {
  IdempotencySchema,
  JOBS_COLLECTION,
  JOB_CANCELLATIONS_COLLECTION,
  JOB_IDEMPOTENCY_COLLECTION,
  JOB_OUTCOMES_COLLECTION,
  JobCancellationSchema,
  JobOutcomeSchema,
  JobSchema,
} from './job.schema';
import { JobLogs } from './job-log';
import { JobLogRepository } from './job-log.repository';
import { JobsRepository } from './jobs.repository';
import { RowStore } from './row-store';
import {
  AttemptSchema,
  ClaimSchema,
  CommitSchema,
  FailureSchema,
  TASKS_COLLECTION,
  TASK_ATTEMPTS_COLLECTION,
  TASK_CLAIMS_COLLECTION,
  TASK_COMMITS_COLLECTION,
  TASK_FAILURES_COLLECTION,
  TaskSchema,
} from './task.schema';
import { TaskLedger } from './task-ledger.repository';

/** Jobs, the task ledger, stored rows and job logs: shared by the scheduler and the workers. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: JOBS_COLLECTION, schema: JobSchema },
      { name: JOB_OUTCOMES_COLLECTION, schema: JobOutcomeSchema },
      { name: JOB_IDEMPOTENCY_COLLECTION, schema: IdempotencySchema },
      { name: JOB_CANCELLATIONS_COLLECTION, schema: JobCancellationSchema },
      { name: TASKS_COLLECTION, schema: TaskSchema },
      { name: TASK_ATTEMPTS_COLLECTION, schema: AttemptSchema },
      { name: TASK_CLAIMS_COLLECTION, schema: ClaimSchema },
      { name: TASK_FAILURES_COLLECTION, schema: FailureSchema },
      { name: TASK_COMMITS_COLLECTION, schema: CommitSchema },
    ]),
  ],
  providers: [JobsRepository, TaskLedger, RowStore, JobLogRepository, JobLogs],
  exports: [JobsRepository, TaskLedger, RowStore, JobLogRepository, JobLogs],
})
export class JobStoreModule {}
