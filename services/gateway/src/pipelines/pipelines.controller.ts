import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AppError,
  PageQuerySchema,
  validateCreatePipeline,
  validateUpdatePipeline,
  type Page,
  type Pipeline,
  type PipelineValidation,
  type Principal,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { ApiGuard } from '../edge/edge.guards';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { parseQuery, requireResourceId } from '../http/request-validation';

/**
 * `/api/v1/pipelines`. Definitions are checked here to fail fast, and again
 * by the registry, which owns them.
 */
@Controller('api/v1/pipelines')
@UseGuards(ApiGuard)
export class PipelinesController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Pipeline> {
    const parsed = validateCreatePipeline(body);
    if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
    const pipeline = await this.rpc.call('pipelines.create', {
      principal,
      definition: parsed.value,
    });
    void reply.status(201).header('Location', `/api/v1/pipelines/${pipeline.id}`);
    return pipeline;
  }

  /** Every check of create, nothing saved: 200 with the definition as it would be stored. */
  @Post('validate')
  @HttpCode(200)
  validate(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
  ): Promise<PipelineValidation> {
    const parsed = validateCreatePipeline(body);
    if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
    return this.rpc.call('pipelines.validate', { principal, definition: parsed.value });
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<Page<Pipeline>> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('pipelines.list', { principal, limit, cursor });
  }

  @Get(':pipelineId')
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('pipelineId') pipelineId: string,
  ): Promise<Pipeline> {
    requireResourceId('Pipeline', pipelineId);
    return this.rpc.call('pipelines.get', { principal, pipelineId });
  }

  @Put(':pipelineId')
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('pipelineId') pipelineId: string,
    @Body() body: unknown,
  ): Promise<Pipeline> {
    requireResourceId('Pipeline', pipelineId);
    const parsed = validateUpdatePipeline(body);
    if (!parsed.ok) throw AppError.invalidPipeline(parsed.problems.join('; '));
    return this.rpc.call('pipelines.update', { principal, pipelineId, patch: parsed.value });
  }

  @Delete(':pipelineId')
  @HttpCode(204)
  async delete(
    @CurrentPrincipal() principal: Principal,
    @Param('pipelineId') pipelineId: string,
  ): Promise<void> {
    requireResourceId('Pipeline', pipelineId);
    await this.rpc.call('pipelines.delete', { principal, pipelineId });
  }
}
