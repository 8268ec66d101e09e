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
import * as argon2 from 'argon2';
import type { FastifyReply } from 'fastify';
import {
  CreateUserRequestSchema,
  PASSWORD_HASH_COST,
  PageQuerySchema,
  requireScope,
  type Page,
  type Principal,
  type User,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { ApiGuard } from '../edge/edge.guards';
import { parseBody, parseQuery, requireResourceId } from '../http/request-validation';

/** `/api/v1/users`: a workspace admin creates the people who sign in through OAuth. */
@Controller('api/v1/users')
@UseGuards(ApiGuard)
export class UsersController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<User> {
    // Refused before the costly hash: only admins create users.
    requireScope(principal, 'admin');
    const { password, ...user } = parseBody(CreateUserRequestSchema, body);
    // Hashed here (Argon2id): the password itself never crosses Kafka.
    const passwordHash = await argon2.hash(password, {
      type: argon2.argon2id,
      ...PASSWORD_HASH_COST,
    });
    const created = await this.rpc.call('auth.users.create', { principal, user, passwordHash });
    void reply.status(201).header('Location', `/api/v1/users/${created.id}`);
    return created;
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<Page<User>> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('auth.users.list', { principal, limit, cursor });
  }

  @Get(':userId')
  get(@CurrentPrincipal() principal: Principal, @Param('userId') userId: string): Promise<User> {
    return this.rpc.call('auth.users.get', {
      principal,
      userId: requireResourceId('User', userId),
    });
  }

  @Delete(':userId')
  @HttpCode(204)
  async delete(
    @CurrentPrincipal() principal: Principal,
    @Param('userId') userId: string,
  ): Promise<void> {
    await this.rpc.call('auth.users.delete', {
      principal,
      userId: requireResourceId('User', userId),
    });
  }
}
