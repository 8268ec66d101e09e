import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { WorkspacesService } from './workspaces.service';

@Controller()
export class WorkspacesController {
  constructor(private readonly workspaces: WorkspacesService) {}

  @MessagePattern('auth.workspaces.create')
  create(@Payload() req: RpcRequest<'auth.workspaces.create'>) {
    return this.workspaces.create(req.principal, req.workspace, req.adminKey);
  }

  @MessagePattern('auth.workspaces.current')
  current(@Payload() req: RpcRequest<'auth.workspaces.current'>) {
    return this.workspaces.current(req.principal);
  }
}
