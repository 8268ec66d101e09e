import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { ApiKeysService } from './api-keys.service';

@Controller()
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @MessagePattern('auth.apiKeys.verify')
  verify(@Payload() req: RpcRequest<'auth.apiKeys.verify'>) {
    return this.apiKeys.verify(req.keyHash);
  }

  @MessagePattern('auth.apiKeys.create')
  create(@Payload() req: RpcRequest<'auth.apiKeys.create'>) {
    return this.apiKeys.create(req.principal, req.key, req.minted);
  }

  @MessagePattern('auth.apiKeys.list')
  list(@Payload() req: RpcRequest<'auth.apiKeys.list'>) {
    return this.apiKeys.list(req.principal, req.limit, req.cursor);
  }

  @MessagePattern('auth.apiKeys.get')
  get(@Payload() req: RpcRequest<'auth.apiKeys.get'>) {
    return this.apiKeys.get(req.principal, req.keyId);
  }

  @MessagePattern('auth.apiKeys.revoke')
  revoke(@Payload() req: RpcRequest<'auth.apiKeys.revoke'>) {
    return this.apiKeys.revoke(req.principal, req.keyId);
  }
}
