import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  CreateDataSourceRequestSchema,
  PageQuerySchema,
  TestConnectionRequestSchema,
  UpdateDataSourceRequestSchema,
  type ConnectionTestResult,
  type DataSourceMetadata,
  type DataSource,
  type Page,
  type Principal,
} from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { ApiGuard } from '../edge/edge.guards';
import { Costly } from '../rate-limit/rate-limit.guard';
import { ConnectionSealer } from './connection-sealer';
import { parseBody, parseQuery, requireResourceId } from '../http/request-validation';

/**
 * `/api/v1/datasources`: connections to databases, buckets and files. The
 * datasource-broker parses and keeps them; answers show connection strings
 * with the password redacted.
 */
@Controller('api/v1/datasources')
@UseGuards(ApiGuard)
export class DataSourcesController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly sealer: ConnectionSealer,
  ) {}

  @Post()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DataSource> {
    const { connectionString, ...dataSource } = parseBody(CreateDataSourceRequestSchema, body);
    const created = await this.rpc.call('datasources.create', {
      principal,
      dataSource,
      connectionString: await this.sealer.seal(connectionString),
    });
    void reply.status(201).header('Location', `/api/v1/datasources/${created.id}`);
    return created;
  }

  /** The published `POST /datasources/test`: an unsaved connection string. */
  @Post('test')
  @HttpCode(200)
  @Costly()
  async test(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
  ): Promise<ConnectionTestResult> {
    const { connectionString, type } = parseBody(TestConnectionRequestSchema, body);
    return this.rpc.call('datasources.test', {
      principal,
      ...(type !== undefined && { type }),
      connectionString: await this.sealer.seal(connectionString),
    });
  }

  /** Tests a saved data source with its stored credentials. */
  @Post(':id/test')
  @HttpCode(200)
  @Costly()
  testSaved(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<ConnectionTestResult> {
    return this.rpc.call('datasources.testSaved', {
      principal,
      dataSourceId: requireResourceId('Data source', id),
    });
  }

  /** Tables or collections, columns and types, row estimates. */
  @Get(':id/metadata')
  metadata(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<DataSourceMetadata> {
    return this.rpc.call('datasources.metadata', {
      principal,
      dataSourceId: requireResourceId('Data source', id),
    });
  }

  @Get()
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: unknown,
  ): Promise<Page<DataSource>> {
    const { limit, cursor } = parseQuery(PageQuerySchema, query);
    return this.rpc.call('datasources.list', { principal, limit, cursor });
  }

  @Get(':id')
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<DataSource> {
    return this.rpc.call('datasources.get', {
      principal,
      dataSourceId: requireResourceId('Data source', id),
    });
  }

  @Put(':id')
  async update(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<DataSource> {
    const dataSourceId = requireResourceId('Data source', id);
    const { connectionString, ...changes } = parseBody(UpdateDataSourceRequestSchema, body);
    return this.rpc.call('datasources.update', {
      principal,
      dataSourceId,
      changes: {
        ...changes,
        ...(connectionString !== undefined && {
          connectionString: await this.sealer.seal(connectionString),
        }),
      },
    });
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.rpc.call('datasources.delete', {
      principal,
      dataSourceId: requireResourceId('Data source', id),
    });
  }
}
