import { DatabaseError } from 'pg';
import { ConnectorError } from '../connector-error';
import { parseConnectionString } from '../connection-string';
import { PolicyError, ResolveError } from '../network-policy';
import { toConnectorError } from './errors';

const parsed = parseConnectionString('postgres', 'postgres://ada:s3cret-pw@db.example:5432/sales');
if (!parsed.ok) throw new Error('the test connection string does not parse');
const context = { config: parsed.config, table: 'orders' };

/** An error shaped like the drivers' own: a message and the fields they set. */
const driverError = (message: string, fields: Record<string, unknown>) =>
  Object.assign(new Error(message), fields);

describe('toConnectorError', () => {
  it('calls credentials, unknown objects and refused data permanent', () => {
    expect(
      toConnectorError('postgres', driverError('x', { code: '28P01' }), context),
    ).toMatchObject({
      permanent: true,
      message: "the user 'ada' or its password is wrong",
    });
    expect(
      toConnectorError('postgres', driverError('x', { code: '42P01' }), context),
    ).toMatchObject({
      permanent: true,
      message: "the table 'orders' does not exist",
    });
    expect(
      toConnectorError(
        'postgres',
        driverError('value too long for type character varying(3)', {
          code: '22001',
          column: 'code',
        }),
        context,
      ),
    ).toMatchObject({
      permanent: true,
      message:
        "a value does not fit the column 'code': value too long for type character varying(3)",
    });
    expect(
      toConnectorError(
        'mysql',
        driverError("Data too long for column 'code' at row 1", {
          code: 'ER_DATA_TOO_LONG',
          sqlState: '22001',
        }),
        context,
      ).message,
    ).toBe("a value does not fit the column 'code': Data too long for column 'code' at row 1");
    expect(toConnectorError('mongodb', driverError('auth', { code: 18 }), context).permanent).toBe(
      true,
    );
  });

  it('calls refused and lost connections, timeouts and lock waits worth retrying', () => {
    const refused = driverError('connect ECONNREFUSED 10.0.0.1:5432', { code: 'ECONNREFUSED' });
    expect(toConnectorError('postgres', refused, context)).toMatchObject({
      permanent: false,
      message: 'nothing is listening on db.example:5432 (connection refused)',
    });
    for (const error of [
      driverError('Connection terminated unexpectedly', {}),
      driverError('canceling statement due to statement timeout', { code: '57014' }),
      driverError('lock', { code: 'ER_LOCK_WAIT_TIMEOUT' }),
      driverError('Server selection timed out', { name: 'MongoServerSelectionError' }),
    ]) {
      expect(toConnectorError('mysql', error, context).permanent).toBe(false);
    }
    expect(
      toConnectorError('postgres', new ResolveError('db.example', {}), context).permanent,
    ).toBe(false);
    expect(
      toConnectorError('postgres', new PolicyError('db.example', '169.254.169.254', 'no'), context)
        .permanent,
    ).toBe(true);
  });

  it('calls every lock wait and deadlock worth retrying: the holder may be gone next time', () => {
    for (const [driver, error] of [
      ['postgres', driverError('canceling statement due to lock timeout', { code: '55P03' })],
      ['postgres', driverError('deadlock detected', { code: '40P01' })],
      ['postgres', driverError('idle-in-transaction timeout', { code: '25P03' })],
      [
        'mysql',
        driverError('Lock wait timeout exceeded', {
          code: 'ER_LOCK_WAIT_TIMEOUT',
          sqlState: 'HY000',
        }),
      ],
      ['mysql', driverError('Deadlock found', { code: 'ER_LOCK_DEADLOCK', sqlState: '40001' })],
    ] as const) {
      expect(toConnectorError(driver, error, context).permanent).toBe(false);
    }
  });

  it('calls a MongoDB duplicate key the data’s fault, not worth retrying', () => {
    expect(
      toConnectorError(
        'mongodb',
        driverError('E11000 duplicate key error', { code: 11000 }),
        context,
      ),
    ).toMatchObject({ permanent: true });
  });

  it('reads a server’s data error as data, even when the data looks like a network failure', () => {
    const error = new DatabaseError(
      'invalid input syntax for type integer: "timed out"',
      0,
      'error',
    );
    error.code = '22P02';
    expect(toConnectorError('postgres', error, context)).toMatchObject({ permanent: true });
  });

  it('never repeats the password, and keeps one short line of a server message', () => {
    const error = toConnectorError(
      'postgres',
      driverError(`syntax error near "s3cret-pw"\nDETAIL: ${'x'.repeat(500)}`, { code: '42601' }),
      context,
    );
    expect(error.message).toBe('PostgreSQL refused the statement: syntax error near "****"');
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('passes a ConnectorError through unchanged', () => {
    const original = new ConnectorError('already worded', true);
    expect(toConnectorError('mysql', original, context)).toBe(original);
  });
});
