import { Module } from '@nestjs/common';
import { ConnectionSealer } from './connection-sealer';
import { DataSourcesController } from './datasources.controller';

@Module({ controllers: [DataSourcesController], providers: [ConnectionSealer] })
export class DataSourcesModule {}
