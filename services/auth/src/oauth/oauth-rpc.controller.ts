import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { AppError, type Principal, type RpcRequest } from '@cloudflow/contracts';
import { OAuthModel } from './oauth.model';
import { SigningKeys } from './signing-keys';

/** What the gateway asks to check access tokens: the public keys and whether a grant stands. */
@Controller()
export class OAuthRpcController {
  constructor(
    private readonly keys: SigningKeys,
    private readonly model: OAuthModel,
  ) {}

  @MessagePattern('auth.oauth.jwks')
  jwks() {
    return this.keys.jwks();
  }

  @MessagePattern('auth.oauth.grantPrincipal')
  async grantPrincipal(
    @Payload() req: RpcRequest<'auth.oauth.grantPrincipal'>,
  ): Promise<{ principal: Principal }> {
    const holder = await this.model.activeHolder(req.grantId);
    if (!holder) throw AppError.unauthorized('The bearer token is invalid or expired');
    return {
      principal: {
        workspaceId: holder.workspaceId,
        subject: { kind: holder.kind, id: holder.id },
        scopes: holder.scopes,
      },
    };
  }
}
