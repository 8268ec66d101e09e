import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { DatabaseError, type Client as PgClient } from 'pg';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { withDeadline } from '../deadline';
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
  destroyMysql,
  destroyPostgres,
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
  /** A statement is in flight: anything sent now would wait behind it. */
  readonly busy: boolean;
  /** A statement ended without the server's answer: the connection is dropped and sends nothing more. */
  readonly broken: boolean;
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
  /** Ends the session, waiting for nothing: a transaction still open is rolled back by the server. */
  destroy(): void;
  close(): Promise<void>;
}

const codeOf = (error: unknown) => (error as { code?: string }).code;

/**
 * A target's statements: how many are in flight, and whether one ended
 * without an answer from the server (a lost connection, a client-side
 * timeout). The state of such a connection is unknown and anything sent on
 * it would queue behind the lost statement, so it is dropped at once and
 * never used again.
 */
class Statements {
  private inFlight = 0;
  private lost = false;

  constructor(
    private readonly answeredByServer: (error: unknown) => boolean,
    private readonly drop: () => void,
  ) {}

  get busy(): boolean {
    return this.inFlight > 0;
  }

  get broken(): boolean {
    return this.lost;
  }

  async run<T>(statement: () => Promise<T>): Promise<T> {
    if (this.lost) throw new ConnectorError('the connection to the database was lost', false);
    this.inFlight++;
    try {
      return await statement();
    } catch (error) {
      if (!this.answeredByServer(error)) this.breakOff();
      throw error;
    } finally {
      this.inFlight--;
    }
  }

  breakOff(): void {
    this.lost = true;
    this.drop();
  }
}

/**
 * Numbers of any size and scale: a column is made from the first batch of
 * one task, and the next may hold 10.5 where this one held 10.
 */
const POSTGRES_DIALECT: SqlDialect = {
  quoteId: pgId,
  placeholder: (index) => `$${index}`,
  columnType: (kind) =>
    ({
      text: 'TEXT',
      number: 'NUMERIC',
      boolean: 'BOOLEAN',
      json: 'JSONB',
    })[kind],
  insertDefaults: (table, count) => `INSERT INTO ${table} SELECT FROM generate_series(1, ${count})`,
  maxParameters: 65_535,
};

/**
 * LONGTEXT, not TEXT: MySQL's TEXT holds only 64 KB. DOUBLE for numbers:
 * it holds every number a JSON row can carry, whole or not (DECIMAL would
 * need a fixed scale).
 */
const MYSQL_DIALECT: SqlDialect = {
  quoteId: mysqlId,
  placeholder: () => '?',
  columnType: (kind) =>
    ({ text: 'LONGTEXT', number: 'DOUBLE', boolean: 'BOOLEAN', json: 'JSON' })[kind],
  insertDefaults: (table, count) =>
    `INSERT INTO ${table} () VALUES ${Array.from({ length: count }, () => '()').join(', ')}`,
  maxParameters: 65_535,
};

/** A concurrent CREATE TABLE of the same table: PostgreSQL may report either. */
const isAlreadyCreated = (error: unknown) => ['42P07', '23505'].includes(codeOf(error) ?? '');

/**
 * What both dialects' targets do alike once a statement can be sent: the
 * transaction's statements, the marker insert (a duplicate key means an
 * earlier attempt committed the task), and ending the session.
 */
abstract class SessionTarget {
  protected abstract readonly statements: Statements;
  /** The dialect's duplicate-key code, for the marker insert. */
  protected abstract readonly duplicateKey: string;

  protected abstract send(sql: string, values?: unknown[]): Promise<unknown>;
  /** `INSERT` of a marker row, with the task id and job id as its two parameters. */
  protected abstract markerInsert(): string;
  protected abstract closeSession(): Promise<void>;

  get busy(): boolean {
    return this.statements.busy;
  }

  get broken(): boolean {
    return this.statements.broken;
  }

  async execute({ sql, values }: SqlStatement): Promise<void> {
    await this.send(sql, values);
  }

  async insertMarker(taskId: string, jobId: string): Promise<boolean> {
    try {
      await this.send(this.markerInsert(), [taskId, jobId]);
      return true;
    } catch (error) {
      if (codeOf(error) === this.duplicateKey) return false;
      throw error;
    }
  }

  async commit(): Promise<void> {
    await this.send('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.send('ROLLBACK');
  }

  destroy(): void {
    this.statements.breakOff();
  }

  async close(): Promise<void> {
    if (this.busy || this.broken) this.destroy();
    else await this.closeSession();
  }
}

class PostgresTarget extends SessionTarget implements SqlTarget {
  readonly dialect = POSTGRES_DIALECT;
  readonly caseInsensitive = false;
  readonly maxStatementBytes = 16 * 1024 * 1024;
  readonly table: string;
  protected readonly duplicateKey = '23505';
  private readonly markers: string;
  protected readonly statements: Statements;

  private constructor(
    private readonly client: PgClient,
    private readonly name: PgTableName,
  ) {
    super();
    this.table = name.sql;
    this.markers = pgSibling(name, COMMIT_MARKERS);
    this.statements = new Statements(
      (error) => error instanceof DatabaseError,
      () => destroyPostgres(client),
    );
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

  /** Every statement is bounded by the session's statement timeout and the client's query timeout. */
  private query(sql: string, values?: unknown[]) {
    return this.statements.run(() => this.client.query<Row>(sql, values));
  }

  columns(): Promise<TargetColumn[] | null> {
    return this.statements.run(async () => {
      const catalog = await pgCatalog(this.client, this.name);
      return catalog?.columns.map(({ name, json, array }) => ({ name, json, array })) ?? null;
    });
  }

  async createTable(sql: string): Promise<void> {
    await this.query(sql).catch((error: unknown) => {
      if (!isAlreadyCreated(error)) throw error;
    });
  }

  async ensureMarkerTable(): Promise<void> {
    const found = await this.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [this.markers]);
    if ((found.rows[0] as { found: boolean }).found) return;
    await this.createTable(`CREATE TABLE IF NOT EXISTS ${this.markers} ${MARKER_COLUMNS}`);
  }

  async hasMarker(taskId: string): Promise<boolean> {
    const found = await this.query(`SELECT 1 FROM ${this.markers} WHERE task_id = $1`, [taskId]);
    return found.rows.length > 0;
  }

  async begin(): Promise<void> {
    await this.query('BEGIN');
  }

  protected send(sql: string, values?: unknown[]): Promise<unknown> {
    return this.query(sql, values);
  }

  protected markerInsert(): string {
    return `INSERT INTO ${this.markers} (task_id, job_id, committed_at) VALUES ($1, $2, now())`;
  }

  protected closeSession(): Promise<void> {
    return closePostgres(this.client);
  }
}

/** MySQL's own JSON column type (MariaDB's JSON is LONGTEXT, recognised by its format). */
const MYSQL_TYPE_JSON = 245;

/** A statement the server did not finish in time: worded like a driver's timeout, so it reads as one. */
function statementTimedOut(): Error {
  return Object.assign(new Error('the statement timed out'), { code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
}

/** The server's own error, on a connection that still works (a fatal one ends the session). */
function mysqlAnswered(error: unknown): boolean {
  const { sqlState, fatal } = error as { sqlState?: unknown; fatal?: unknown };
  return typeof sqlState === 'string' && fatal !== true;
}

class MysqlTarget extends SessionTarget implements SqlTarget {
  readonly dialect = MYSQL_DIALECT;
  readonly caseInsensitive = true;
  readonly table: string;
  protected readonly duplicateKey = 'ER_DUP_ENTRY';
  private readonly markers = mysqlId(COMMIT_MARKERS);
  protected readonly statements: Statements;

  private constructor(
    private readonly session: MysqlSession,
    private readonly name: string,
    /** Escaping can double a value's size: a third of the server's packet limit is safe. */
    readonly maxStatementBytes: number,
    /**
     * Every statement's bound, kept on the client (MySQL has no server-side
     * timeout for writes): a statement past it breaks the connection off,
     * which mysql2's own `timeout` does not (it would queue the next
     * statement behind the lost one, and keep its timer running).
     */
    private readonly timeoutMs: number,
  ) {
    super();
    this.table = mysqlTableName(name);
    this.statements = new Statements(mysqlAnswered, () => destroyMysql(session));
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
      const [rows] = await withDeadline(
        session.db.query<(RowDataPacket & { packet: string | number })[]>(
          'SELECT @@max_allowed_packet AS packet',
        ),
        options.timeoutMs,
        statementTimedOut,
      );
      const packet = Number(rows[0]?.packet ?? 4 * 1024 * 1024);
      return new MysqlTarget(session, table, Math.floor(packet / 3), statementTimeoutOf(options));
    } catch (error) {
      destroyMysql(session);
      throw error;
    }
  }

  private query<T extends RowDataPacket[] | ResultSetHeader>(sql: string, values: unknown[] = []) {
    return this.statements.run(() =>
      withDeadline(this.session.db.query<T>(sql, values), this.timeoutMs, statementTimedOut),
    );
  }

  private async exists(name: string): Promise<boolean> {
    const [rows] = await this.query<RowDataPacket[]>(
      `SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      [name],
    );
    return rows.length > 0;
  }

  async columns(): Promise<TargetColumn[] | null> {
    if (!(await this.exists(this.name))) return null;
    // The result's metadata knows JSON columns, MariaDB's (LONGTEXT with a check) included.
    const [, fields] = await this.query<RowDataPacket[]>(`SELECT * FROM ${this.table} LIMIT 0`);
    return fields.map((field) => ({
      name: field.name,
      json: field.columnType === MYSQL_TYPE_JSON || field.extendedFormat === 'json',
    }));
  }

  async createTable(sql: string): Promise<void> {
    await this.query(sql).catch((error: unknown) => {
      if (codeOf(error) !== 'ER_TABLE_EXISTS_ERROR') throw error;
    });
  }

  async ensureMarkerTable(): Promise<void> {
    if (await this.exists(COMMIT_MARKERS)) return;
    await this.createTable(`CREATE TABLE IF NOT EXISTS ${this.markers} ${MARKER_COLUMNS}`);
  }

  async hasMarker(taskId: string): Promise<boolean> {
    const [rows] = await this.query<RowDataPacket[]>(
      `SELECT 1 FROM ${this.markers} WHERE task_id = ?`,
      [taskId],
    );
    return rows.length > 0;
  }

  async begin(): Promise<void> {
    await this.query('START TRANSACTION');
  }

  protected send(sql: string, values?: unknown[]): Promise<unknown> {
    return this.query(sql, values);
  }

  protected markerInsert(): string {
    return `INSERT INTO ${this.markers} (task_id, job_id, committed_at) VALUES (?, ?, UTC_TIMESTAMP())`;
  }

  protected closeSession(): Promise<void> {
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
 * that froze while writing holds no lock on the marker a newer attempt needs;
 * one that froze anywhere is cut off by the server's idle timeout, and the
 * newer one waits at most the lock timeout before it fails and is retried.
 *
 * Two attempts can also meet on the user's own unique keys: the newer one
 * waits for the older one's rows, and once the older one commits, gets a
 * duplicate-key error. So a statement that fails is followed by a look at the
 * marker: if the task is committed, its rows are all there once, and this
 * attempt ends as if it had committed them itself.
 *
 * A missing table is created from the first batch's fields with inferred
 * types (outside the transaction: MySQL commits DDL implicitly); numbers get
 * a type that takes every later number, whole or not.
 */
export class SqlTableSink implements TableRowSink {
  private target?: SqlTarget;
  private columns = new Map<string, TargetColumn>();
  /** An earlier attempt committed this task: write nothing. */
  private committedEarlier = false;
  /** The target's transaction is open (BEGIN sent, neither COMMIT nor ROLLBACK yet). */
  private inTransaction = false;
  /** A statement failed: the transaction can only be rolled back. */
  private failed = false;
  /** abort() was called: nothing more is sent, no connection is opened. */
  private aborted = false;

  constructor(
    private readonly config: ConnectionConfig,
    private readonly spec: { driver: 'postgres' | 'mysql'; table: string },
    private readonly options: TableSinkOptions,
  ) {}

  /** Rows are identified by the task's marker, not one by one, so `lines` is not needed. */
  async write(rows: Row[], _lines: number[]): Promise<void> {
    if (rows.length === 0 || this.committedEarlier) return;
    if (this.aborted) throw stopped();
    if (this.failed) {
      throw new ConnectorError('an earlier write of this task failed: abort it and retry', false);
    }
    try {
      const target = this.target ?? (await this.open(rows));
      if (!target) return;
      const statements = insertStatements(
        target.dialect,
        target.table,
        this.insertColumns(rows),
        rows,
        target.maxStatementBytes,
      );
      for (const statement of statements) {
        if (this.aborted) throw stopped();
        await target.execute(statement);
      }
    } catch (error) {
      if (await this.committedByEarlierAttempt()) {
        await this.release();
        return;
      }
      this.failed = true;
      throw this.failure(error);
    }
  }

  async commit(): Promise<void> {
    if (this.aborted) throw stopped();
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
        this.inTransaction = false;
      }
    } catch (error) {
      if (!(await this.committedByEarlierAttempt())) throw this.failure(error);
    } finally {
      await this.release();
    }
  }

  /**
   * Rolls back and closes. With a statement in flight (an insert waiting for
   * a lock, say), a ROLLBACK would only queue behind it: the connection is
   * dropped instead, and the server rolls back on its own.
   */
  async abort(): Promise<void> {
    this.aborted = true;
    const target = this.target;
    this.target = undefined;
    this.inTransaction = false;
    if (!target) return;
    if (target.busy || target.broken) {
      target.destroy();
      return;
    }
    await target.rollback().catch(() => undefined);
    await target.close().catch(() => undefined);
  }

  /**
   * After a statement of the transaction failed: whether the task's rows are
   * committed all the same — by an earlier attempt this one ran into (a
   * duplicate key of the user's table, a lock wait it ended), or by this very
   * attempt when only the answer to its COMMIT was lost. Rolls back first,
   * then looks for the task's marker with a fresh statement on the same
   * connection, or on a new one when that one no longer works. Any doubt is
   * a no: the caller then reports the original failure.
   */
  private async committedByEarlierAttempt(): Promise<boolean> {
    const target = this.target;
    if (!target || !this.inTransaction || this.aborted) return false;
    this.inTransaction = false;
    const { taskId } = this.options;
    if (!target.broken) {
      try {
        await target.rollback();
        return this.committedIf(await target.hasMarker(taskId));
      } catch {
        // The connection failed too: ask on a new one.
      }
    }
    try {
      const fresh = await this.connect();
      try {
        return this.committedIf(await fresh.hasMarker(taskId));
      } finally {
        await fresh.close();
      }
    } catch {
      return false;
    }
  }

  private committedIf(found: boolean): boolean {
    if (found) this.committedEarlier = true;
    return found;
  }

  /** Ends the session (a transaction still open rolls back) and forgets it. */
  private async release(): Promise<void> {
    const target = this.target;
    this.target = undefined;
    this.inTransaction = false;
    await target?.close().catch(() => undefined);
  }

  /**
   * Connects, checks for an earlier commit, makes sure the tables exist, then
   * begins the transaction; undefined when an earlier attempt committed the task.
   */
  private async open(firstRows: Row[]): Promise<SqlTarget | undefined> {
    checkIds(this.options);
    const target = await this.connect();
    if (this.aborted) {
      target.destroy();
      throw stopped();
    }
    this.target = target;
    await target.ensureMarkerTable();
    if (await target.hasMarker(this.options.taskId)) {
      this.committedEarlier = true;
      await this.release();
      return undefined;
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
    this.inTransaction = true;
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

/** The error of a write on an attempt already aborted: the task is being retried or stopped. */
function stopped(): ConnectorError {
  return new ConnectorError('the attempt was aborted', false);
}

function checkIds({ jobId, taskId }: TableSinkOptions): void {
  if (taskId.length === 0 || taskId.length > 200 || jobId.length === 0 || jobId.length > 100) {
    throw new ConnectorError(
      'the task id (at most 200 characters) or job id (at most 100) is unusable',
      true,
    );
  }
}
