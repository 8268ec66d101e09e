import { type DynamicModule, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { MongoReadiness } from './mongo-health';

export interface PersistenceOptions {
  url: string;
}

/**
 * The MongoDB connection of a service. Indexes are not built implicitly
 * (`autoIndex: false`); each repository creates the indexes it declares at
 * boot, so a schema option FerretDB lacks fails loudly at start-up.
 */
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceOptions): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      providers: [MongoReadiness],
      imports: [
        MongooseModule.forRoot(options.url, {
          autoIndex: false,
          autoCreate: true,
          serverSelectionTimeoutMS: 5_000,
          connectTimeoutMS: 5_000,
          socketTimeoutMS: 30_000,
          maxPoolSize: 20,
        }),
      ],
      exports: [MongooseModule, MongoReadiness],
    };
  }
}
