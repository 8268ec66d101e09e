import { Module, type DynamicModule } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { NetworkPolicy } from '@cloudflow/connectors';
import { SecretBox } from '@cloudflow/persistence';
import { DataSourceAccessService } from './datasource-access.service';
import { DATA_SOURCES_COLLECTION, DataSourceSchema } from './datasource.schema';
import { DataSourcesController } from './datasources.controller';
import { DataSourcesRepository } from './datasources.repository';
import {
  CONNECTION_TESTS,
  DataSourcesService,
  type ConnectionTestSettings,
} from './datasources.service';
import { SECRET_BOX } from './secret-box.token';
import { TransitKeys } from './transit-keys';

/** Data source configurations and their sealed credentials. */
@Module({})
export class DataSourcesModule {
  static forRoot(options: {
    secretKey: string;
    /** Keys stored values may still be sealed with during a rotation. */
    previousSecretKeys: string[];
    allowLoopback: boolean;
    allowPrivate: boolean;
    testTimeoutMs: number;
    /** CLOUDFLOW_DATA_DIR: where file data sources live. */
    dataRoot: string;
  }): DynamicModule {
    return {
      module: DataSourcesModule,
      imports: [
        MongooseModule.forFeature([{ name: DATA_SOURCES_COLLECTION, schema: DataSourceSchema }]),
      ],
      controllers: [DataSourcesController],
      providers: [
        DataSourcesRepository,
        DataSourcesService,
        DataSourceAccessService,
        TransitKeys,
        {
          provide: SECRET_BOX,
          useValue: new SecretBox(options.secretKey, options.previousSecretKeys),
        },
        {
          provide: CONNECTION_TESTS,
          useValue: {
            policy: new NetworkPolicy({
              allowLoopback: options.allowLoopback,
              allowPrivate: options.allowPrivate,
            }),
            timeoutMs: options.testTimeoutMs,
            dataRoot: options.dataRoot,
          } satisfies ConnectionTestSettings,
        },
      ],
    };
  }
}
