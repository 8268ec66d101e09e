import type { RowDataPacket } from 'mysql2';
import type { Client as PgClient } from 'pg';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { toConnectorError } from './errors';
import {
  idleTimeoutOf,
  statementTimeoutOf,
  type Row,
  type TableSinkOptions,
  type TableRowSink,
} from './model';
import { mysqlId, mysqlTableName, pgId, pgSibling, pgTableName, type PgTableName } from './names';
import { pgCatalog } from './postgres-table';
import {
  closeMysql,
  closePostgres,
  openMysql,
  openPostgres,
  type MysqlSession,
  type WriterBounds,
} from './sessions';
import {
  createTableSql,
  inferColumns,
  insertStatements,
  type InsertColumn,
  type SqlDialect,
  type SqlStatement,
  type TargetColumn,
} from './sql-writes';

/** Where each task that wrote rows records its commit, in the same transaction as the rows. */
export const COMMIT_MARKERS = 'cloudflow_task_commits';
const MARKER_COLUMNS =
  '(task_id VARCHAR(200) PRIMARY KEY, job_id VARCHAR(100) NOT NULL, committed_at TIMESTAMP NULL)';

/** One database's side of a task's transaction: the statements, not the protocol. */
interface SqlTarget {
  readonly dialect: SqlDialect;
  /** The quoted table name. */
  readonly table: string;
  /** MySQL column names ignore case; PostgreSQL's (once quoted) do not. */
  readonly caseInsensitive: boolean;
  /** About the most data one statement may carry. */
  readonly maxStatementBytes: number;
  /** The table's columns, or null if it does not exist. */
  columns(): Promise<TargetColumn[] | null>;
  /** Creates the table; one created meanwhile by another task is fine. */
  createTable(sql: string): Promise<void>;
  ensureMarkerTable(): Promise<void>;
  hasMarker(taskId: string): Promise<boolean>;
  begin(): Promise<void>;
  execute(statement: SqlStatement): Promise<void>;
  /** Inserts the task's marker; false when the task's marker is already there. */
  insertMarker(taskId: string, jobId: string): Promise<boolean>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

const codeOf = (error: unknown) => (error as { code?: string }).code;

const POSTGRES_DIALECT: SqlDialect = {
  quoteId: pgId,
  placeholder: (index) => `$${index}`,
  columnType: (kind) =>
    ({
      text: 'TEXT',
      integer: 'BIGINT',
      float: 'DOUBLE PRECISION',
      boolean: 'BOOLEAN',
      json: 'JSONB',
    })[kind],
  insertDefaults: (table, count) => `INSERT INTO ${table} SELECT FROM generate_series(1, ${count})`,
  maxParameters: 65_535,
};

/** LONGTEXT, not TEXT: MySQL's TEXT holds only 64 KB. */
const MYSQL_DIALECT: SqlDialect = {
  quoteId: mysqlId,
  placeholder: () => '?',
  columnType: (kind) =>
    ({ text: 'LONGTEXT', integer: 'BIGINT', float: 'DOUBLE', boolean: 'BOOLEAN', json: 'JSON' })[
      kind
    ],
  insertDefaults: (table, count) =>
    `INSERT INTO ${table} () VALUES ${Array.from({ length: count }, () => '()').join(', ')}`,
  maxParameters: 65_535,
};

/** A concurrent CREATE TABLE of the same table: PostgreSQL may report either. */
const isAlreadyCreated = (error: unknown) => ['42P07', '23505'].includes(codeOf(error) ?? '');

class PostgresTarget implements SqlTarget {
  readonly dialect = POSTGRES_DIALECT;
  readonly caseInsensitive = false;
  readonly maxStatementBytes = 16 * 1024 * 1024;
  readonly table: string;
  private readonly markers: string;

  private constructor(
    private readonly client: PgClient,
    private readonly name: PgTableName,
  ) {
    this.table = name.sql;
    this.markers = pgSibling(name, COMMIT_MARKERS);
  }

  /** Names are checked before anything is sent. */
  static async open(
    config: ConnectionConfig,
    options: TableSinkOptions,
    bounds: WriterBounds,
    table: string,
  ): Promise<PostgresTarget> {
    const name = pgTableName(table);
    return new PostgresTarget(await openPostgres(config, options, bounds), name);
  }

  async columns(): Promise<TargetColumn[] | null> {
    const catalog = await pgCatalog(this.client, this.name);
    return catalog?.columns.map(({ name, json, array }) => ({ name, json, array })) ?? null;
  }

  async createTable(sql: string): Promise<void> {
    await this.client.query(sql).catch((error: unknown) => {
      if (!isAlreadyCreated(error)) throw error;
    });
  }

  async ensureMarkerTable(): Promise<void> {
    const found = await this.client.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [
      this.markers,
    ]);
    if ((found.rows[0] as { found: boolean }).found) return;
    await this.createTable(`CREATE TABLE IF NOT EXISTS ${this.markers} ${MARKER_COLUMNS}`);
  }

  async hasMarker(taskId: string): Promise<boolean> {
    const found = await this.client.query(`SELECT 1 FROM ${this.markers} WHERE task_id = $1`, [
      taskId,
    ]);
    return found.rows.length > 0;
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }

  async execute({ sql, values }: SqlStatement): Promise<void> {
    await this.client.query(sql, values);
  }

  async insertMarker(taskId: string, jobId: string): Promise<boolean> {
    try {
      await this.client.query(
        `INSERT INTO ${this.markers} (task_id, job_id, committed_at) VALUES ($1, $2, now())`,
        [taskId, jobId],
      );
      return true;
    } catch (error) {
      if (codeOf(error) === '23505') return false;
      throw error;
    }
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.client.query('ROLLBACK');
  }

  close(): Promise<void> {
    return closePostgres(this.client);
  }
}

/** MySQL's own JSON column type (MariaDB's JSON is LONGTEXT, recognised by its format). */
const MYSQL_TYPE_JSON = 245;

class MysqlTarget implements SqlTarget {
  readonly dialect = MYSQL_DIALECT;
  readonly caseInsensitive = true;
  readonly table: string;
  private readonly markers = mysqlId(COMMIT_MARKERS);

  private constructor(
    private readonly session: MysqlSession,
    private readonly name: string,
    /** Escaping can double a value's size: a third of the server's packet limit is safe. */
    readonly maxStatementBytes: number,
    private readonly timeoutMs: number,
  ) {
    this.table = mysqlTableName(name);
  }

  /** Names are checked before anything is sent. */
  static async open(
    config: ConnectionConfig,
    options: TableSinkOptions,
    bounds: WriterBounds,
    table: string,
  ): Promise<MysqlTarget> {
    mysqlTableName(table);
    const session = await openMysql(config, options, bounds);
    try {
      const [rows] = await session.db.query<(RowDataPacket & { packet: string | number })[]>(
        'SELECT @@max_allowed_packet AS packet',
      );
      const packet = Number(rows[0]?.packet ?? 4 * 1024 * 1024);
      return new MysqlTarget(session, table, Math.floor(packet / 3), statementTimeoutOf(options));
    } catch (error) {
      await closeMysql(session);
      throw error;
    }
  }

  private async exists(name: string): Promise<boolean> {
    const [rows] = await this.session.db.query<RowDataPacket[]>({
      sql: `SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      values: [name],
      timeout: this.timeoutMs,
    });
    return rows.length > 0;
  }

  async columns(): Promise<TargetColumn[] | null> {
    if (!(await this.exists(this.name))) return null;
    // The result's metadata knows JSON columns, MariaDB's (LONGTEXT with a check) included.
    const [, fields] = await this.session.db.query({
      sql: `SELECT * FROM ${this.table} LIMIT 0`,
      timeout: this.timeoutMs,
    });
    return fields.map((field) => ({
      name: field.name,
      json: field.columnType === MYSQL_TYPE_JSON || field.extendedFormat === 'json',
    }));
  }

  async createTable(sql: string): Promise<void> {
    await this.session.db.query(sql).catch((error: unknown) => {
      if (codeOf(error) !== 'ER_TABLE_EXISTS_ERROR') throw error;
    });
  }

  async ensureMarkerTable(): Promise<void> {
    if (await this.exists(COMMIT_MARKERS)) return;
    await this.createTable(`CREATE TABLE IF NOT EXISTS ${this.markers} ${MARKER_COLUMNS}`);
  }

  async hasMarker(taskId: string): Promise<boolean> {
    const [rows] = await this.session.db.query<RowDataPacket[]>({
      sql: `SELECT 1 FROM ${this.markers} WHERE task_id = ?`,
      values: [taskId],
      timeout: this.timeoutMs,
    });
    return rows.length > 0;
  }

  async begin(): Promise<void> {
    await this.session.db.query('START TRANSACTION');
  }

  async execute({ sql, values }: SqlStatement): Promise<void> {
    await this.session.db.query({ sql, values, timeout: this.timeoutMs });
  }

  async insertMarker(taskId: string, jobId: string): Promise<boolean> {
    try {
      await this.session.db.query({
        sql: `INSERT INTO ${this.markers} (task_id, job_id, committed_at) VALUES (?, ?, UTC_TIMESTAMP())`,
        values: [taskId, jobId],
      });
      return true;
    } catch (error) {
      if (codeOf(error) === 'ER_DUP_ENTRY') return false;
      throw error;
    }
  }

  async commit(): Promise<void> {
    await this.session.db.query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.session.db.query('ROLLBACK');
  }

  close(): Promise<void> {
    return closeMysql(this.session);
  }
}

/**
 * A task's rows into a PostgreSQL or MySQL/MariaDB table, exactly once however
 * often the task is attempted. All of an attempt's rows go into one
 * transaction, which commits only together with a marker row for the task in
 * `cloudflow_task_commits`: the marker's primary key lets one attempt commit
 * and turns every other (a retry, or a stale attempt still running) into a
 * rollback. The marker is inserted last, just before COMMIT, so an attempt
 * that froze while writing holds no lock a newer attempt needs; one that froze
 * on the marker is cut off by the server's idle timeout, and the newer one
 * waits at most the lock timeout before it fails and is retried.
 *
 * A missing table is created from the first batch's fields with inferred
 * types (outside the transaction: MySQL commits DDL implicitly).
 */
export class SqlTableSink implements TableRowSink {
  private target?: SqlTarget;
  private columns = new Map<string, TargetColumn>();
  /** An earlier attempt committed this task: write nothing. */
  private committedEarlier = false;
  /** A statement failed: the transaction can only be rolled back. */
  private failed = false;

  constructor(
    private readonly config: ConnectionConfig,
    private readonly spec: { driver: 'postgres' | 'mysql'; table: string },
    private readonly options: TableSinkOptions,
  ) {}

  /** Rows are identified by the task's marker, not one by one, so `lines` is not needed. */
  async write(rows: Row[], _lines: number[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.failed) {
      throw new ConnectorError('an earlier write of this task failed: abort it and retry', false);
    }
    try {
      const target = this.target ?? (await this.open(rows));
      if (this.committedEarlier) return;
      const statements = insertStatements(
        target.dialect,
        target.table,
        this.insertColumns(rows),
        rows,
        target.maxStatementBytes,
      );
      for (const statement of statements) await target.execute(statement);
    } catch (error) {
      this.failed = true;
      throw this.failure(error);
    }
  }

  async commit(): Promise<void> {
    const target = this.target;
    if (!target) return;
    try {
      if (this.failed) {
        throw new ConnectorError(
          'a write of this task failed, so its rows cannot be committed',
          false,
        );
      }
      if (!this.committedEarlier) {
        // Last, right before COMMIT: a duplicate means another attempt committed the same rows.
        if (await target.insertMarker(this.options.taskId, this.options.jobId)) {
          await target.commit();
        } else {
          await target.rollback();
        }
      }
    } catch (error) {
      await target.rollback().catch(() => undefined);
      throw this.failure(error);
    } finally {
      this.target = undefined;
      await target.close();
    }
  }

  async abort(): Promise<void> {
    const target = this.target;
    this.target = undefined;
    if (!target) return;
    await target.rollback().catch(() => undefined);
    await target.close().catch(() => undefined);
  }

  /** Connects, checks for an earlier commit, makes sure the tables exist, then begins the transaction. */
  private async open(firstRows: Row[]): Promise<SqlTarget> {
    checkIds(this.options);
    const target = await this.connect();
    this.target = target;
    await target.ensureMarkerTable();
    if (await target.hasMarker(this.options.taskId)) {
      this.committedEarlier = true;
      return target;
    }
    let columns = await target.columns();
    if (!columns) {
      await target.createTable(
        createTableSql(target.dialect, target.table, inferColumns(firstRows)),
      );
      columns = (await target.columns()) ?? [];
    }
    this.columns = new Map(columns.map((c) => [this.lookupName(target, c.name), c]));
    await target.begin();
    return target;
  }

  private connect(): Promise<SqlTarget> {
    const bounds: WriterBounds = {
      lockTimeoutMs: this.options.timeoutMs,
      idleTimeoutMs: idleTimeoutOf(this.options),
    };
    return this.spec.driver === 'postgres'
      ? PostgresTarget.open(this.config, this.options, bounds, this.spec.table)
      : MysqlTarget.open(this.config, this.options, bounds, this.spec.table);
  }

  private lookupName(target: SqlTarget, name: string): string {
    return target.caseInsensitive ? name.toLowerCase() : name;
  }

  /** The batch's fields, each matched to a column of the table, or a permanent error naming the first that is not. */
  private insertColumns(rows: Row[]): InsertColumn[] {
    const target = this.target;
    if (!target) return [];
    const fields = new Set<string>();
    for (const row of rows) for (const field of Object.keys(row)) fields.add(field);
    return [...fields].map((field) => {
      const column = this.columns.get(this.lookupName(target, field));
      if (!column) {
        throw new ConnectorError(
          `the table '${this.spec.table}' has no column '${field}': add the column, or drop or rename the field in the pipeline`,
          true,
        );
      }
      return { ...column, field };
    });
  }

  private failure(error: unknown): ConnectorError {
    return toConnectorError(this.spec.driver, error, {
      config: this.config,
      table: this.spec.table,
    });
  }
}

function checkIds({ jobId, taskId }: TableSinkOptions): void {
  if (taskId.length === 0 || taskId.length > 200 || jobId.length === 0 || jobId.length > 100) {
    throw new ConnectorError(
      'the task id (at most 200 characters) or job id (at most 100) is unusable',
      true,
    );
  }
}
