import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { PipelinesService } from './pipelines.service';

/** RPC edge of the registry: payloads arrive validated against the contracts. */
@Controller()
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  @MessagePattern('pipelines.create')
  create(@Payload() req: RpcRequest<'pipelines.create'>) {
    return this.pipelines.create(req.principal, req.definition);
  }

  @MessagePattern('pipelines.list')
  list(@Payload() req: RpcRequest<'pipelines.list'>) {
    return this.pipelines.list(req.principal, req.limit, req.cursor);
  }

  @MessagePattern('pipelines.validate')
  validate(@Payload() req: RpcRequest<'pipelines.validate'>) {
    return this.pipelines.validate(req.definition);
  }

  @MessagePattern('pipelines.get')
  get(@Payload() req: RpcRequest<'pipelines.get'>) {
    return this.pipelines.get(req.principal, req.pipelineId);
  }

  @MessagePattern('pipelines.update')
  update(@Payload() req: RpcRequest<'pipelines.update'>) {
    return this.pipelines.update(req.principal, req.pipelineId, req.patch);
  }

  @MessagePattern('pipelines.delete')
  delete(@Payload() req: RpcRequest<'pipelines.delete'>) {
    return this.pipelines.delete(req.principal, req.pipelineId);
  }
}
