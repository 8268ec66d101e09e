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
}
