import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  requireScope,
  type ConnectionTestResult,
  type CreateDataSourceRequest,
  type DataSourceMetadata,
  type DataSource,
  type Page,
  type Principal,
  type UpdateDataSourceRequest,
} from '@cloudflow/contracts';
import {
  NetworkPolicy,
  PolicyError,
  describeSource,
  parseConnectionString,
  redactedConnectionString,
  testConnection,
  typeOf,
  type ConnectionConfig,
  type DataSourceType,
} from '@cloudflow/connectors';
import {
  DEFAULT_CSV_OPTIONS,
  DataPathError,
  describeFile,
  listDirectory,
  resolveInputFile,
  workspaceDataRoot,
} from '@cloudflow/engine';
import {
  DATA_SOURCE_CONNECTIONS,
  SecretBox,
  newId,
  requireCursor,
  scopeOf,
  type WorkspaceScope,
} from '@cloudflow/persistence';
import type { DataSourceDocument } from './datasource.schema';
import { DataSourcesRepository } from './datasources.repository';
import { SECRET_BOX } from './secret-box.token';
import { TransitKeys } from './transit-keys';

export const CONNECTION_TESTS = Symbol('CONNECTION_TESTS');

/** A directory data source's metadata lists at most this many files. */
const MAX_DIRECTORY_FILES = 1_000;

export interface ConnectionTestSettings {
  policy: NetworkPolicy;
  timeoutMs: number;
  dataRoot: string;
}

/**
 * Data sources of a workspace. The broker owns their credentials: a
 * connection string is parsed and checked before anything is stored, kept
 * only sealed, and shown only redacted.
 */
@Injectable()
export class DataSourcesService {
  private readonly logger = new Logger(DataSourcesService.name);

  constructor(
    private readonly sources: DataSourcesRepository,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly transit: TransitKeys,
    @Inject(CONNECTION_TESTS) private readonly tests: ConnectionTestSettings,
  ) {}

  /** Tests a connection string that is not saved (sealed by the gateway). */
  async test(
    principal: Principal,
    type: DataSourceType | undefined,
    sealedConnectionString: string,
  ): Promise<ConnectionTestResult> {
    requireScope(principal, 'write');
    const raw = await this.transit.open(sealedConnectionString);
    return this.run(principal, parse(type ?? typeOf(raw), raw));
  }

  /** Tests a saved data source with its stored credentials. */
  async testSaved(principal: Principal, id: string): Promise<ConnectionTestResult> {
    requireScope(principal, 'write');
    return this.run(principal, await this.connectionOf(scopeOf(principal), id));
  }

  /** Tables or collections with columns and row estimates, read from the source itself. */
  async metadata(principal: Principal, id: string): Promise<DataSourceMetadata> {
    const config = await this.connectionOf(scopeOf(principal), id);
    if (config.driver === 'file') return this.describeFileSource(principal, config);
    try {
      return await describeSource(config, this.tests);
    } catch (error) {
      if (error instanceof PolicyError) {
        throw new AppError(ErrorCode.InvalidPipelineConfig, `connectionString: ${error.message}`);
      }
      // Say which stage fails, in the connection test's words, never the server's.
      const test = await testConnection(config, this.tests);
      throw AppError.unavailable(
        test.ok
          ? 'the data source answered the connection test but not the metadata queries'
          : `the data source cannot be reached: ${test.message}`,
      );
    }
  }

  /** A file in the workspace's data root: size, header, inferred types, row estimate. */
  private async describeFileSource(
    principal: Principal,
    config: ConnectionConfig,
  ): Promise<DataSourceMetadata> {
    const userPath = config.path ?? '';
    const format = /\.(jsonl|ndjson)$/i.test(userPath) ? 'jsonl' : 'csv';
    try {
      const root = await workspaceDataRoot(this.tests.dataRoot, principal.workspaceId);
      if (userPath.endsWith('/')) {
        const { files, truncated } = await listDirectory(root, userPath, MAX_DIRECTORY_FILES);
        return { kind: 'directory', driver: 'file', path: userPath, files, truncated };
      }
      const file = await resolveInputFile(root, userPath);
      const described = await describeFile(file.path, file.size, {
        format,
        csv: DEFAULT_CSV_OPTIONS,
      });
      return {
        kind: 'file',
        driver: 'file',
        path: userPath,
        format,
        size: file.size,
        ...described,
      };
    } catch (error) {
      if (error instanceof DataPathError) {
        throw new AppError(ErrorCode.InvalidPipelineConfig, `connectionString: ${error.message}`);
      }
      throw new AppError(
        ErrorCode.InvalidPipelineConfig,
        `connectionString: '${userPath}' could not be read as ${format.toUpperCase()}: ${
          error instanceof Error
            ? error.message.replace(/^.*?: /, '').slice(0, 200)
            : 'unknown error'
        }`,
      );
    }
  }

  /** A file data source "connects" when its file is readable in the workspace's data root. */
  private async testFile(
    principal: Principal,
    config: ConnectionConfig,
  ): Promise<ConnectionTestResult> {
    const started = Date.now();
    try {
      const root = await workspaceDataRoot(this.tests.dataRoot, principal.workspaceId);
      const userPath = config.path ?? '';
      const message = userPath.endsWith('/')
        ? `'${userPath}' is a readable directory of ${(await listDirectory(root, userPath, MAX_DIRECTORY_FILES)).files.length} files`
        : `'${userPath}' is a readable file of ${(await resolveInputFile(root, userPath)).size} bytes`;
      return {
        ok: true,
        driver: 'file',
        stages: [{ stage: 'query', ok: true, durationMs: Date.now() - started, message }],
        message,
      };
    } catch (error) {
      const message = error instanceof DataPathError ? error.message : 'the file could not be read';
      return {
        ok: false,
        driver: 'file',
        stages: [{ stage: 'query', ok: false, durationMs: Date.now() - started, message }],
        message: `query: ${message}`,
      };
    }
  }

  private async run(principal: Principal, config: ConnectionConfig): Promise<ConnectionTestResult> {
    const result =
      config.driver === 'file'
        ? await this.testFile(principal, config)
        : await testConnection(config, this.tests);
    this.logger.log(
      { driver: config.driver, ok: result.ok, stage: result.stages.at(-1)?.stage },
      'connection tested',
    );
    return result;
  }

  /** `sealedConnectionString` is the gateway's JWE of the string the caller sent. */
  async create(
    principal: Principal,
    request: Omit<CreateDataSourceRequest, 'connectionString'>,
    sealedConnectionString: string,
    now = new Date(),
  ): Promise<DataSource> {
    requireScope(principal, 'write');
    const connectionString = await this.transit.open(sealedConnectionString);
    const config = parse(request.type, connectionString);
    const id = newId('ds');
    const doc: DataSourceDocument = {
      _id: id,
      workspaceId: principal.workspaceId,
      name: request.name ?? defaultName(config),
      type: request.type,
      driver: config.driver,
      display: redactedConnectionString(config),
      sealed: this.box.seal(connectionString, DATA_SOURCE_CONNECTIONS.purposeOf(id)),
      createdAt: now,
      updatedAt: now,
    };
    await this.sources.insert(scopeOf(principal), doc);
    this.logger.log({ dataSourceId: id, driver: config.driver }, 'data source created');
    return toDataSource(doc);
  }

  async list(principal: Principal, limit: number, cursor?: string): Promise<Page<DataSource>> {
    requireCursor(cursor);
    const page = await this.sources.findPage(scopeOf(principal), { limit, cursor });
    return { items: page.items.map(toDataSource), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string): Promise<DataSource> {
    return toDataSource(await this.find(scopeOf(principal), id));
  }

  async update(
    principal: Principal,
    id: string,
    changes: Omit<UpdateDataSourceRequest, 'connectionString'> & { connectionString?: string },
    now = new Date(),
  ): Promise<DataSource> {
    requireScope(principal, 'write');
    const scope = scopeOf(principal);
    const current = await this.find(scope, id);
    const type = changes.type ?? current.type;
    const set: Partial<DataSourceDocument> = { type, updatedAt: now };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.connectionString !== undefined || changes.type !== undefined) {
      // A new type is checked against the stored string, which the broker alone can open.
      const raw =
        changes.connectionString !== undefined
          ? await this.transit.open(changes.connectionString)
          : this.box.open(current.sealed, DATA_SOURCE_CONNECTIONS.purposeOf(current._id));
      const config = parse(type, raw);
      set.driver = config.driver;
      set.display = redactedConnectionString(config);
      set.sealed = this.box.seal(raw, DATA_SOURCE_CONNECTIONS.purposeOf(current._id));
    }
    const updated = await this.sources.findOneAndUpdate(scope, { _id: id }, { $set: set });
    if (!updated) throw AppError.notFound('Data source', id);
    return toDataSource(updated);
  }

  async delete(principal: Principal, id: string): Promise<{ deleted: true }> {
    requireScope(principal, 'write');
    if (!(await this.sources.deleteOne(scopeOf(principal), { _id: id }))) {
      throw AppError.notFound('Data source', id);
    }
    this.logger.log({ dataSourceId: id }, 'data source deleted');
    return { deleted: true };
  }

  /** The stored connection, opened: for the broker's own use (tests, metadata, workers' tasks). */
  async connectionOf(scope: WorkspaceScope, id: string): Promise<ConnectionConfig> {
    const doc = await this.find(scope, id);
    return parse(doc.type, this.box.open(doc.sealed, DATA_SOURCE_CONNECTIONS.purposeOf(doc._id)));
  }

  private async find(scope: WorkspaceScope, id: string): Promise<DataSourceDocument> {
    const doc = await this.sources.findById(scope, id);
    if (!doc) throw AppError.notFound('Data source', id);
    return doc;
  }
}

/** 400/4001 naming every problem with the string, never quoting its password. */
function parse(type: DataSourceType, raw: string): ConnectionConfig {
  const parsed = parseConnectionString(type, raw);
  if (!parsed.ok) {
    throw new AppError(
      ErrorCode.InvalidPipelineConfig,
      `connectionString: ${parsed.problems.join('; ')}`,
    );
  }
  return parsed.config;
}

function defaultName(config: ConnectionConfig): string {
  const where = config.host ?? config.bucket ?? config.path ?? '';
  return `${config.driver} ${where}`.trim().slice(0, 200);
}

function toDataSource(doc: DataSourceDocument): DataSource {
  return {
    id: doc._id,
    name: doc.name,
    type: doc.type,
    driver: doc.driver,
    connectionString: doc.display,
    createdAt: new Date(doc.createdAt).toISOString(),
    updatedAt: new Date(doc.updatedAt).toISOString(),
  };
}
