import { Module } from '@nestjs/common';
import { DataSourcesController } from './datasources.controller';

@Module({ controllers: [DataSourcesController] })
export class DataSourcesModule {}
