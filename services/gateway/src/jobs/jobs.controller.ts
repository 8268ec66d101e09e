import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AppError,
  ErrorCode,
  IdempotencyKeySchema,
  ListJobsQuerySchema,
  PageQuerySchema,
  SubmitJobRequestSchema,
  type Job,
  type JobLogEntry,
  type JobResults,
  type Page,
  type Principal,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { ApiGuard } from '../edge/edge.guards';
import { Costly } from '../rate-limit/rate-limit.guard';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { parseBody, parseQuery, requireResourceId } from '../http/request-validation';

/** `/api/v1/jobs`: submit, watch, fetch results and logs, cancel and re-run jobs. */
@Controller('api/v1/jobs')
@UseGuards(ApiGuard)
export class JobsController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  @HttpCode(202)
  @Costly()
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Job> {
    const job = parseBody(SubmitJobRequestSchema, body);
    const idempotencyKey = idempotencyKeyOf(idempotencyKeyHeader);
    const created = await this.rpc.call('jobs.submit', {
      principal,
      job,
      ...(idempotencyKey !== undefined && { idempotencyKey }),
    });
    void reply.header('Location', `/api/v1/jobs/${created.jobId}`);
    return created;
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<Page<Job>> {
    return this.rpc.call('jobs.list', { principal, query: parseQuery(ListJobsQuerySchema, query) });
  }

  @Get(':jobId')
  get(@CurrentPrincipal() principal: Principal, @Param('jobId') jobId: string): Promise<Job> {
    return this.rpc.call('jobs.get', { principal, jobId: requireResourceId('Job', jobId) });
  }

  @Get(':jobId/status')
  status(@CurrentPrincipal() principal: Principal, @Param('jobId') jobId: string): Promise<Job> {
    return this.get(principal, jobId);
  }

  @Get(':jobId/results')
  results(
    @CurrentPrincipal() principal: Principal,
    @Param('jobId') jobId: string,
    @Query() query: unknown,
  ): Promise<JobResults> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('jobs.results', {
      principal,
      jobId: requireResourceId('Job', jobId),
      limit,
      cursor,
    });
  }

  @Get(':jobId/rejected')
  rejected(
    @CurrentPrincipal() principal: Principal,
    @Param('jobId') jobId: string,
    @Query() query: unknown,
  ) {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('jobs.rejected', {
      principal,
      jobId: requireResourceId('Job', jobId),
      limit,
      cursor,
    });
  }

  @Get(':jobId/logs')
  logs(
    @CurrentPrincipal() principal: Principal,
    @Param('jobId') jobId: string,
    @Query() query: unknown,
  ): Promise<Page<JobLogEntry>> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('jobs.logs', {
      principal,
      jobId: requireResourceId('Job', jobId),
      limit,
      cursor,
    });
  }

  @Post(':jobId/cancel')
  @HttpCode(202)
  cancel(@CurrentPrincipal() principal: Principal, @Param('jobId') jobId: string): Promise<Job> {
    return this.rpc.call('jobs.cancel', { principal, jobId: requireResourceId('Job', jobId) });
  }

  @Post(':jobId/rerun')
  @HttpCode(202)
  @Costly()
  async rerun(
    @CurrentPrincipal() principal: Principal,
    @Param('jobId') jobId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Job> {
    const created = await this.rpc.call('jobs.rerun', {
      principal,
      jobId: requireResourceId('Job', jobId),
    });
    void reply.header('Location', `/api/v1/jobs/${created.jobId}`);
    return created;
  }
}

function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = IdempotencyKeySchema.safeParse(header);
  if (!parsed.success) {
    throw new AppError(
      ErrorCode.ValidationFailed,
      "header 'Idempotency-Key' must be 1-200 visible ASCII characters",
    );
  }
  return parsed.data;
}
