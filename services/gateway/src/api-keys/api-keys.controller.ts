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
  CreateApiKeyRequestSchema,
  PageQuerySchema,
  mintApiKey,
  type ApiKey,
  type CreatedApiKey,
  type Page,
  type Principal,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { ApiGuard } from '../edge/edge.guards';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { parseBody, parseQuery, requireResourceId } from '../http/request-validation';

/** `/api/v1/api-keys`: issue (the secret shown once), list, inspect and revoke keys. */
@Controller('api/v1/api-keys')
@UseGuards(ApiGuard)
export class ApiKeysController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedApiKey> {
    const key = parseBody(CreateApiKeyRequestSchema, body);
    // Minted here: auth stores only the hash, and the secret never crosses Kafka.
    const minted = mintApiKey();
    const created = await this.rpc.call('auth.apiKeys.create', {
      principal,
      key,
      minted: { keyHash: minted.keyHash, prefix: minted.prefix },
    });
    // The secret is in this body and nowhere else: keep it out of every cache.
    void reply
      .status(201)
      .header('Location', `/api/v1/api-keys/${created.id}`)
      .header('Cache-Control', 'no-store');
    return { ...created, key: minted.key };
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<Page<ApiKey>> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('auth.apiKeys.list', { principal, limit, cursor });
  }

  @Get(':keyId')
  get(@CurrentPrincipal() principal: Principal, @Param('keyId') keyId: string): Promise<ApiKey> {
    return this.rpc.call('auth.apiKeys.get', {
      principal,
      keyId: requireResourceId('API key', keyId),
    });
  }

  @Delete(':keyId')
  @HttpCode(204)
  async revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('keyId') keyId: string,
  ): Promise<void> {
    await this.rpc.call('auth.apiKeys.revoke', {
      principal,
      keyId: requireResourceId('API key', keyId),
    });
  }
}
