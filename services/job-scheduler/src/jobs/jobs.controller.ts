import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { JobsService } from './jobs.service';

/** RPC edge of the scheduler: payloads arrive validated against the contracts. */
@Controller()
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @MessagePattern('jobs.submit')
  submit(@Payload() req: RpcRequest<'jobs.submit'>) {
    return this.jobs.submit(req.principal, req.job, req.idempotencyKey);
  }

  @MessagePattern('jobs.list')
  list(@Payload() req: RpcRequest<'jobs.list'>) {
    return this.jobs.list(req.principal, req.query);
  }

  @MessagePattern('jobs.get')
  get(@Payload() req: RpcRequest<'jobs.get'>) {
    return this.jobs.get(req.principal, req.jobId);
  }

  @MessagePattern('jobs.results')
  results(@Payload() req: RpcRequest<'jobs.results'>) {
    return this.jobs.results(req.principal, req.jobId, req.limit, req.cursor);
  }

  @MessagePattern('jobs.rejected')
  rejected(@Payload() req: RpcRequest<'jobs.rejected'>) {
    return this.jobs.rejected(req.principal, req.jobId, req.limit, req.cursor);
  }

  @MessagePattern('jobs.logs')
  logs(@Payload() req: RpcRequest<'jobs.logs'>) {
    return this.jobs.logs(req.principal, req.jobId, req.limit, req.cursor);
  }

  @MessagePattern('jobs.cancel')
  cancel(@Payload() req: RpcRequest<'jobs.cancel'>) {
    return this.jobs.cancel(req.principal, req.jobId);
  }

  @MessagePattern('jobs.rerun')
  rerun(@Payload() req: RpcRequest<'jobs.rerun'>) {
    return this.jobs.rerun(req.principal, req.jobId);
  }
}
