import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  CLIENT_SECRET_PREFIX,
  CreateOAuthClientRequestSchema,
  PageQuerySchema,
  mintSecret,
  type CreatedOAuthClient,
  type OAuthClient,
  type Page,
  type Principal,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { ApiGuard } from '../edge/edge.guards';
import { parseBody, parseQuery, requireResourceId } from '../http/request-validation';

/** `/api/v1/oauth/clients`: a workspace admin registers the applications users sign in to. */
@Controller('api/v1/oauth/clients')
@UseGuards(ApiGuard)
export class OAuthClientsController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedOAuthClient> {
    const client = parseBody(CreateOAuthClientRequestSchema, body);
    // A confidential client's secret is minted here; auth stores only its hash.
    const secret = client.type === 'confidential' ? mintSecret(CLIENT_SECRET_PREFIX) : undefined;
    const created = await this.rpc.call('auth.oauthClients.create', {
      principal,
      client,
      ...(secret && { secret: { keyHash: secret.keyHash } }),
    });
    void reply
      .status(201)
      .header('Location', `/api/v1/oauth/clients/${created.id}`)
      .header('Cache-Control', 'no-store');
    return { ...created, ...(secret && { clientSecret: secret.key }) };
  }

  @Get()
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: unknown,
  ): Promise<Page<OAuthClient>> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('auth.oauthClients.list', { principal, limit, cursor });
  }

  @Get(':clientId')
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('clientId') clientId: string,
  ): Promise<OAuthClient> {
    return this.rpc.call('auth.oauthClients.get', {
      principal,
      clientId: requireResourceId('OAuth client', clientId),
    });
  }

  @Delete(':clientId')
  @HttpCode(204)
  async delete(
    @CurrentPrincipal() principal: Principal,
    @Param('clientId') clientId: string,
  ): Promise<void> {
    await this.rpc.call('auth.oauthClients.delete', {
      principal,
      clientId: requireResourceId('OAuth client', clientId),
    });
  }
}
