import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';

/** Throws unless the MongoDB-wire server answers a ping. */
export async function pingMongo(connection: Connection): Promise<void> {
  const db = connection.db;
  if (!db || connection.readyState !== 1) throw new Error('not connected to MongoDB');
  await db.admin().ping();
}

/** Readiness: the MongoDB-wire server answers a ping. */
@Injectable()
export class MongoReadiness {
  readonly name = 'mongodb';

  constructor(@InjectConnection() private readonly connection: Connection) {}

  check(): Promise<void> {
    return pingMongo(this.connection);
  }
}
