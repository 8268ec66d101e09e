import { Body, Controller, Get, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  CreateWorkspaceRequestSchema,
  mintApiKey,
  type CreatedWorkspace,
  type Principal,
  type Workspace,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { ApiGuard } from '../edge/edge.guards';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { parseBody } from '../http/request-validation';

/** `/api/v1/workspaces`: the platform admin creates tenants; anyone sees their own. */
@Controller('api/v1/workspaces')
@UseGuards(ApiGuard)
export class WorkspacesController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedWorkspace> {
    const workspace = parseBody(CreateWorkspaceRequestSchema, body);
    const minted = mintApiKey();
    const created = await this.rpc.call('auth.workspaces.create', {
      principal,
      workspace,
      adminKey: { keyHash: minted.keyHash, prefix: minted.prefix },
    });
    // The body carries the new workspace's admin key, shown this once.
    void reply.status(201).header('Cache-Control', 'no-store');
    return { ...created, adminKey: { ...created.adminKey, key: minted.key } };
  }

  @Get('current')
  current(@CurrentPrincipal() principal: Principal): Promise<Workspace> {
    return this.rpc.call('auth.workspaces.current', { principal });
  }
}
