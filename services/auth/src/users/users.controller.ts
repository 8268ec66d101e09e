import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { UsersService } from './users.service';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @MessagePattern('auth.users.create')
  create(@Payload() req: RpcRequest<'auth.users.create'>) {
    return this.users.create(req.principal, req.user, req.passwordHash);
  }

  @MessagePattern('auth.users.list')
  list(@Payload() req: RpcRequest<'auth.users.list'>) {
    return this.users.list(req.principal, req.limit, req.cursor);
  }

  @MessagePattern('auth.users.get')
  get(@Payload() req: RpcRequest<'auth.users.get'>) {
    return this.users.get(req.principal, req.userId);
  }

  @MessagePattern('auth.users.delete')
  delete(@Payload() req: RpcRequest<'auth.users.delete'>) {
    return this.users.delete(req.principal, req.userId);
  }
}
