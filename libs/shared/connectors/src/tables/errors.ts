import { MongoServerError } from 'mongodb';
import { DatabaseError } from 'pg';
import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { PolicyError, ResolveError } from '../network-policy';
import type { TableDriver } from './model';

/** What a failure message may mention: who connected where, and never the password. */
export interface FailureContext {
  config: ConnectionConfig;
  /** The table or collection the operation was about. */
  table?: string;
}

const MAX_DETAIL = 200;

/**
 * Turns any error from a driver (or the network policy) into a ConnectorError
 * worded for the user. `permanent` tells the scheduler whether a retry can
 * help: a wrong password, a missing table or a value the column refuses stay
 * wrong; a refused connection or a timeout may not.
 */
export function toConnectorError(
  driver: TableDriver,
  error: unknown,
  context: FailureContext,
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (error instanceof PolicyError) return new ConnectorError(error.message, true);
  if (error instanceof ResolveError) return new ConnectorError(error.message, false);
  const network = isServerError(error) ? undefined : networkFailure(error, context.config);
  if (network) return network;
  switch (driver) {
    case 'postgres':
      return postgresFailure(error, context);
    case 'mysql':
      return mysqlFailure(error, context);
    case 'mongodb':
      return mongoFailure(error, context);
  }
}

/**
 * The server answered with an error of its own: its words may quote the
 * user's data, so they are never read as a network failure.
 */
function isServerError(error: unknown): boolean {
  return (
    error instanceof DatabaseError ||
    error instanceof MongoServerError ||
    typeof (error as { sqlState?: unknown }).sqlState === 'string'
  );
}

/** Refused, reset or timed-out connections: the same words whatever the driver. */
function networkFailure(error: unknown, config: ConnectionConfig): ConnectorError | undefined {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : '';
  const where = `${config.host ?? ''}:${config.port ?? ''}`;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return new ConnectorError(`nothing is listening on ${where} (connection refused)`, false);
  }
  if (
    code === 'ETIMEDOUT' ||
    code === 'PROTOCOL_SEQUENCE_TIMEOUT' ||
    /timeout expired|timed out|read timeout|connection timeout|ETIMEDOUT/i.test(message)
  ) {
    return new ConnectorError(`the server at ${where} did not answer in time`, false);
  }
  if (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'PROTOCOL_CONNECTION_LOST' ||
    /Connection terminated|ECONNRESET|socket hang up|connection closed/i.test(message)
  ) {
    return new ConnectorError(`the connection to ${where} was lost`, false);
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new ConnectorError(`${config.host ?? ''} cannot be reached from here`, false);
  }
  return undefined;
}

function postgresFailure(error: unknown, { config, table }: FailureContext): ConnectorError {
  const { code, column } = error as { code?: string; column?: string };
  const detail = serverDetail(error, config);
  const user = `'${config.user ?? ''}'`;
  switch (code) {
    case '28P01':
    case '28000':
      return new ConnectorError(`the user ${user} or its password is wrong`, true);
    case '3D000':
      return new ConnectorError(`the database '${config.database ?? ''}' does not exist`, true);
    case '42P01':
      return new ConnectorError(`the table '${table ?? ''}' does not exist`, true);
    case '42703':
      return new ConnectorError(`a column does not exist: ${detail}`, true);
    case '42501':
      return new ConnectorError(`the user ${user} is not allowed to do this: ${detail}`, true);
    case '57014':
      return new ConnectorError('a statement took longer than allowed and was cancelled', false);
    case '55P03':
      return new ConnectorError('waited too long for a lock another session holds', false);
    case '25P03':
      return new ConnectorError('the session sat idle in its transaction too long', false);
  }
  const sqlClass = code?.slice(0, 2);
  if (sqlClass === '22' || sqlClass === '23') return invalidData(detail, column);
  // Class 42: syntax and access rules, 0A: feature not supported, 3F: unknown schema.
  if (sqlClass === '42' || sqlClass === '0A' || sqlClass === '3F') {
    return new ConnectorError(`PostgreSQL refused the statement: ${detail}`, true);
  }
  return new ConnectorError(`PostgreSQL failed: ${detail}`, false);
}

/** MySQL and MariaDB errors a retry cannot fix, by the driver's code name. */
const MYSQL_DATA_ERRORS = new Set([
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_DATA_TOO_LONG',
  'ER_BAD_NULL_ERROR',
  'ER_WARN_NULL_TO_NOTNULL',
  'ER_NO_DEFAULT_FOR_FIELD',
  'ER_INVALID_JSON_TEXT',
  'ER_DUP_ENTRY',
  'ER_CONSTRAINT_FAILED',
  'ER_NO_REFERENCED_ROW_2',
  'ER_ROW_IS_REFERENCED_2',
  'ER_DIVISION_BY_ZERO',
]);

function mysqlFailure(error: unknown, { config, table }: FailureContext): ConnectorError {
  const { code, sqlState } = error as { code?: string; sqlState?: string };
  const detail = serverDetail(error, config);
  const user = `'${config.user ?? ''}'`;
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_NOT_SUPPORTED_AUTH_MODE':
      return new ConnectorError(`the user ${user} or its password is wrong`, true);
    case 'ER_DBACCESS_DENIED_ERROR':
      return new ConnectorError(
        `the user ${user} may not use the database '${config.database ?? ''}'`,
        true,
      );
    case 'ER_BAD_DB_ERROR':
      return new ConnectorError(`the database '${config.database ?? ''}' does not exist`, true);
    case 'ER_NO_SUCH_TABLE':
      return new ConnectorError(`the table '${table ?? ''}' does not exist`, true);
    case 'ER_BAD_FIELD_ERROR':
      return new ConnectorError(`a column does not exist: ${detail}`, true);
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return new ConnectorError(`the user ${user} is not allowed to do this: ${detail}`, true);
    case 'ER_LOCK_WAIT_TIMEOUT':
      return new ConnectorError('waited too long for a lock another session holds', false);
    case 'ER_LOCK_DEADLOCK':
      return new ConnectorError('the transaction was chosen as a deadlock victim', false);
  }
  if (code && MYSQL_DATA_ERRORS.has(code)) return invalidData(detail, mysqlColumnOf(detail));
  const sqlClass = sqlState?.slice(0, 2);
  if (sqlClass === '22' || sqlClass === '23') return invalidData(detail, mysqlColumnOf(detail));
  if (sqlClass === '42') return new ConnectorError(`MySQL refused the statement: ${detail}`, true);
  return new ConnectorError(`MySQL failed: ${detail}`, false);
}

/** MongoDB server codes a retry cannot fix. */
const MONGO_PERMANENT: Record<number, string> = {
  2: 'the server refused a value',
  9: 'the server could not parse the request',
  13: 'the user is not allowed to do this',
  14: 'a value has the wrong type',
  18: 'the user name or password is wrong',
  26: 'the collection does not exist',
  121: 'a document does not pass the collection’s validation',
  11000: 'a document has the same key as another where a unique index forbids it',
};

function mongoFailure(error: unknown, { config }: FailureContext): ConnectorError {
  const code = (error as { code?: unknown }).code;
  const name = (error as { name?: string }).name ?? '';
  const known = typeof code === 'number' ? MONGO_PERMANENT[code] : undefined;
  if (known) return new ConnectorError(`${known}: ${serverDetail(error, config)}`, true);
  if (/ServerSelection|Network|Timeout/.test(name)) {
    return new ConnectorError(
      `the MongoDB server at ${config.host ?? ''}:${config.port ?? ''} could not be reached or dropped the connection`,
      false,
    );
  }
  return new ConnectorError(`MongoDB failed: ${serverDetail(error, config)}`, false);
}

function invalidData(detail: string, column: string | undefined): ConnectorError {
  return new ConnectorError(
    column
      ? `a value does not fit the column '${column}': ${detail}`
      : `a value does not fit the table: ${detail}`,
    true,
  );
}

/** MySQL names the column in the message only: "... for column `db`.`t`.`c` at row 3" or "... column 'c' ...". */
function mysqlColumnOf(message: string): string | undefined {
  const match = /column (?:`[^`]*`\.)*`([^`]+)`|column '([^']+)'/i.exec(message);
  return match?.[1] ?? match?.[2];
}

/** The server's own words: one line, short, and never the password. */
function serverDetail(error: unknown, config: ConnectionConfig): string {
  const raw = error instanceof Error ? error.message : String(error);
  let line = raw.split('\n')[0]?.trim() ?? '';
  if (config.password) line = line.split(config.password).join('****');
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}…` : line || 'no reason given';
}
