import { Schema } from 'mongoose';
import { DATA_SOURCE_CONNECTIONS, type TenantDocument } from '@cloudflow/persistence';

/**
 * A data source as stored: the connection string only sealed (AES-256-GCM,
 * bound to this data source's id), plus its redacted form for display.
 */
export interface DataSourceDocument extends TenantDocument {
  name: string;
  type: 'postgres' | 'mysql' | 'mongodb' | 's3' | 'file' | 'database';
  driver: 'postgres' | 'mysql' | 'mongodb' | 's3' | 'file';
  /** Canonical URL form with the password replaced by `****`. */
  display: string;
  /** The connection string as given, sealed with CLOUDFLOW_SECRET_KEY (DATA_SOURCE_CONNECTIONS). */
  sealed: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Named once, in the registry of sealed fields, which key rotation walks. */
export const DATA_SOURCES_COLLECTION = DATA_SOURCE_CONNECTIONS.collection;

export const DataSourceSchema = new Schema<DataSourceDocument>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    name: { type: String, required: true },
    type: { type: String, required: true },
    driver: { type: String, required: true },
    display: { type: String, required: true },
    sealed: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: DATA_SOURCES_COLLECTION, versionKey: false },
);

DataSourceSchema.index({ workspaceId: 1, _id: 1 });
// Serves pipeline steps that name a data source, and `s3://` inputs looked up by driver.
DataSourceSchema.index({ workspaceId: 1, name: 1 });
DataSourceSchema.index({ workspaceId: 1, driver: 1 });
