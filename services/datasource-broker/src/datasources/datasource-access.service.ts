import { Inject, Injectable, Logger } from '@nestjs/common';
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import {
  AppError,
  ErrorCode,
  type DataSourceLookup,
  type DataSourceRef,
  type OpenedDataSource,
} from '@cloudflow/contracts';
import { parseConnectionString, type ConnectionConfig } from '@cloudflow/connectors';
import { DATA_SOURCE_CONNECTIONS, SecretBox, type WorkspaceScope } from '@cloudflow/persistence';
import type { DataSourceDocument } from './datasource.schema';
import { DataSourcesRepository } from './datasources.repository';
import { SECRET_BOX } from './secret-box.token';

/** An `s3://` input matches among at most this many S3 data sources of a workspace. */
const MAX_S3_CANDIDATES = 500;

/**
 * What the scheduler and workers may ask of the broker while they run a
 * job: which data source a step means, and its connection string — for the
 * job's workspace only (every lookup is scoped to it), sealed to the
 * caller's one-off key so it is never readable on Kafka (ADR 0012).
 */
@Injectable()
export class DataSourceAccessService {
  private readonly logger = new Logger(DataSourceAccessService.name);

  constructor(
    private readonly sources: DataSourcesRepository,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
  ) {}

  async resolve(scope: WorkspaceScope, lookup: DataSourceLookup): Promise<DataSourceRef> {
    if ('ref' in lookup) return this.refOf(await this.byRef(scope, lookup.ref));
    return this.byBucket(scope, lookup.bucket, lookup.key);
  }

  async open(scope: WorkspaceScope, id: string, recipient: JWK): Promise<OpenedDataSource> {
    const doc = await this.sources.findById(scope, id);
    if (!doc) throw AppError.notFound('Data source', id);
    const key = await importJWK(recipient, 'ECDH-ES').catch(() => {
      throw new AppError(ErrorCode.BadRequest, 'recipient is not a P-256 public key');
    });
    const raw = this.box.open(doc.sealed, DATA_SOURCE_CONNECTIONS.purposeOf(doc._id));
    const sealed = await new CompactEncrypt(new TextEncoder().encode(raw))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' })
      .encrypt(key);
    this.logger.log({ dataSourceId: id, workspaceId: scope.workspaceId }, 'data source opened');
    return { id: doc._id, type: doc.type, sealed };
  }

  /** By id (`ds_...`), else by name; a name two data sources share must be given as an id. */
  private async byRef(scope: WorkspaceScope, ref: string): Promise<DataSourceDocument> {
    const byId = await this.sources.findById(scope, ref);
    if (byId) return byId;
    const named = await this.sources.findMany(scope, { name: ref }, 2);
    if (named.length > 1) {
      throw new AppError(
        ErrorCode.InvalidPipelineConfig,
        `several data sources are named '${ref}'; name the one you mean by its id`,
      );
    }
    const [doc] = named;
    if (!doc) {
      throw new AppError(
        ErrorCode.InvalidPipelineConfig,
        `no data source '${ref}' in this workspace (give a data source id or name)`,
      );
    }
    return doc;
  }

  /**
   * The S3 data source for `s3://bucket/key`: of the workspace's S3 data
   * sources on that bucket, the one whose key prefix matches the key most
   * closely; a tie between several is refused rather than guessed.
   */
  private async byBucket(
    scope: WorkspaceScope,
    bucket: string,
    key: string,
  ): Promise<DataSourceRef> {
    const candidates = (await this.sources.findMany(scope, { driver: 's3' }, MAX_S3_CANDIDATES))
      .map((doc) => this.refOf(doc))
      .filter((ref) => ref.bucket === bucket && reads(ref.key ?? '', key));
    const best = Math.max(-1, ...candidates.map((c) => (c.key ?? '').length));
    const chosen = candidates.filter((c) => (c.key ?? '').length === best);
    if (chosen.length === 0) {
      throw new AppError(
        ErrorCode.InvalidPipelineConfig,
        `no S3 data source in this workspace reads bucket '${bucket}'; create one (POST /api/v1/datasources with type s3) first`,
      );
    }
    if (chosen.length > 1) {
      throw new AppError(
        ErrorCode.InvalidPipelineConfig,
        `several S3 data sources read 's3://${bucket}/${key}' (${chosen.map((c) => `'${c.name}'`).join(', ')}); name one in the pipeline's source step`,
      );
    }
    return chosen[0] as DataSourceRef;
  }

  private refOf(doc: DataSourceDocument): DataSourceRef {
    const config = this.configOf(doc);
    return {
      id: doc._id,
      name: doc.name,
      driver: doc.driver,
      ...(config.bucket !== undefined && { bucket: config.bucket }),
      ...(config.driver === 's3' && { key: config.key ?? '' }),
      ...(config.path !== undefined && { path: config.path }),
    };
  }

  private configOf(doc: DataSourceDocument): ConnectionConfig {
    const parsed = parseConnectionString(
      doc.type,
      this.box.open(doc.sealed, DATA_SOURCE_CONNECTIONS.purposeOf(doc._id)),
    );
    if (!parsed.ok) throw new Error(`stored data source ${doc._id} no longer parses`);
    return parsed.config;
  }
}

/**
 * Whether an S3 data source whose connection string names `own` (nothing: the
 * whole bucket; `prefix/`: keys under it; anything else: that one object)
 * reads `key`.
 */
function reads(own: string, key: string): boolean {
  if (own === '' || own.endsWith('/')) return key.startsWith(own);
  return key === own;
}
