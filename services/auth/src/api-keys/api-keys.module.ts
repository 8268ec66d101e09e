import { Module, type DynamicModule } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { WORKSPACES_COLLECTION, WorkspaceSchema } from '../workspaces/workspace.schema';
import { WorkspacesController } from '../workspaces/workspaces.controller';
import { WorkspacesRepository } from '../workspaces/workspaces.repository';
import { WorkspacesService } from '../workspaces/workspaces.service';
import { API_KEYS_COLLECTION, ApiKeySchema } from './api-key.schema';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService, BOOTSTRAP_API_KEY } from './api-keys.service';

@Module({})
export class ApiKeysModule {
  static forRoot(options: { bootstrapKey?: string }): DynamicModule {
    return {
      module: ApiKeysModule,
      imports: [
        MongooseModule.forFeature([
          { name: API_KEYS_COLLECTION, schema: ApiKeySchema },
          { name: WORKSPACES_COLLECTION, schema: WorkspaceSchema },
        ]),
      ],
      controllers: [ApiKeysController, WorkspacesController],
      providers: [
        ApiKeysService,
        ApiKeysRepository,
        WorkspacesRepository,
        WorkspacesService,
        { provide: BOOTSTRAP_API_KEY, useValue: options.bootstrapKey },
      ],
    };
  }
}
