import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@cloudflow/contracts';
import { DataSourceAccessService } from './datasource-access.service';
import { DataSourcesService } from './datasources.service';
import { TransitKeys } from './transit-keys';

@Controller()
export class DataSourcesController {
  constructor(
    private readonly sources: DataSourcesService,
    private readonly transit: TransitKeys,
    private readonly access: DataSourceAccessService,
  ) {}

  @MessagePattern('datasources.resolve')
  resolve(@Payload() req: RpcRequest<'datasources.resolve'>) {
    return this.access.resolve({ workspaceId: req.workspaceId }, req.lookup);
  }

  @MessagePattern('datasources.open')
  open(@Payload() req: RpcRequest<'datasources.open'>) {
    return this.access.open({ workspaceId: req.workspaceId }, req.dataSourceId, req.recipient);
  }

  @MessagePattern('datasources.create')
  create(@Payload() req: RpcRequest<'datasources.create'>) {
    return this.sources.create(req.principal, req.dataSource, req.connectionString);
  }

  @MessagePattern('datasources.transitKeys')
  transitKeys() {
    return this.transit.publicKeys();
  }

  @MessagePattern('datasources.test')
  test(@Payload() req: RpcRequest<'datasources.test'>) {
    return this.sources.test(req.principal, req.type, req.connectionString);
  }

  @MessagePattern('datasources.testSaved')
  testSaved(@Payload() req: RpcRequest<'datasources.testSaved'>) {
    return this.sources.testSaved(req.principal, req.dataSourceId);
  }

  @MessagePattern('datasources.metadata')
  metadata(@Payload() req: RpcRequest<'datasources.metadata'>) {
    return this.sources.metadata(req.principal, req.dataSourceId);
  }

  @MessagePattern('datasources.list')
  list(@Payload() req: RpcRequest<'datasources.list'>) {
    return this.sources.list(req.principal, req.limit, req.cursor);
  }

  @MessagePattern('datasources.get')
  get(@Payload() req: RpcRequest<'datasources.get'>) {
    return this.sources.get(req.principal, req.dataSourceId);
  }

  @MessagePattern('datasources.update')
  update(@Payload() req: RpcRequest<'datasources.update'>) {
    return this.sources.update(req.principal, req.dataSourceId, req.changes);
  }

  @MessagePattern('datasources.delete')
  delete(@Payload() req: RpcRequest<'datasources.delete'>) {
    return this.sources.delete(req.principal, req.dataSourceId);
  }
}
