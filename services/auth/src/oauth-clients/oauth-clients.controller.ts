import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { OAuthClientsService } from './oauth-clients.service';

@Controller()
export class OAuthClientsController {
  constructor(private readonly clients: OAuthClientsService) {}

  @MessagePattern('auth.oauthClients.create')
  create(@Payload() req: RpcRequest<'auth.oauthClients.create'>) {
    return this.clients.create(req.principal, req.client, req.secret);
  }

  @MessagePattern('auth.oauthClients.list')
  list(@Payload() req: RpcRequest<'auth.oauthClients.list'>) {
    return this.clients.list(req.principal, req.limit, req.cursor);
  }

  @MessagePattern('auth.oauthClients.get')
  get(@Payload() req: RpcRequest<'auth.oauthClients.get'>) {
    return this.clients.get(req.principal, req.clientId);
  }

  @MessagePattern('auth.oauthClients.delete')
  delete(@Payload() req: RpcRequest<'auth.oauthClients.delete'>) {
    return this.clients.delete(req.principal, req.clientId);
  }
}
