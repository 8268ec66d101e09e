import { ConnectorError } from '../connector-error';
import {
  checkName,
  checkTableName,
  mongoCollectionName,
  mongoFieldName,
  mysqlTableName,
  pgSibling,
  pgTableName,
} from './names';

describe('table names', () => {
  it('splits a PostgreSQL name at its first dot and quotes each part', () => {
    expect(pgTableName('sales.orders')).toEqual({
      schema: 'sales',
      name: 'orders',
      sql: '"sales"."orders"',
    });
    expect(pgTableName('Orders "2024"').sql).toBe('"Orders ""2024"""');
    expect(pgSibling(pgTableName('sales.orders'), 'cloudflow_task_commits')).toBe(
      '"sales"."cloudflow_task_commits"',
    );
    expect(pgSibling(pgTableName('orders'), 'cloudflow_task_commits')).toBe(
      '"cloudflow_task_commits"',
    );
  });

  it('keeps a MySQL name one identifier, dots and backquotes included', () => {
    expect(mysqlTableName('a.b')).toBe('`a.b`');
    expect(mysqlTableName('x`; DROP TABLE y; --')).toBe('`x``; DROP TABLE y; --`');
  });

  it('refuses empty, overlong and NUL-bearing names, permanently', () => {
    for (const bad of ['', 'x'.repeat(129), 'a\0b']) {
      expect(() => checkName(bad, 'table')).toThrow(ConnectorError);
    }
    expect(checkName('x'.repeat(128), 'table')).toHaveLength(128);
    expect(() => pgTableName('.orders')).toThrow('the schema name is empty');
    expect(() => pgTableName('sales.')).toThrow('the table name is empty');
  });

  it('refuses MongoDB system collections and split keys that are not top-level fields', () => {
    expect(mongoCollectionName('orders.2024')).toBe('orders.2024');
    expect(() => mongoCollectionName('system.users')).toThrow(ConnectorError);
    expect(() => mongoCollectionName('a$b')).toThrow(ConnectorError);
    expect(mongoFieldName('customerId')).toBe('customerId');
    expect(() => mongoFieldName('address.city')).toThrow('top-level field');
  });
});

describe('checkTableName', () => {
  /** The permanent ConnectorError `checkTableName` throws, or undefined. */
  const refusal = (driver: 'postgres' | 'mysql' | 'mongodb', name: string) => {
    try {
      checkTableName(driver, name);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ permanent: true });
      return (error as Error).message;
    }
  };

  it('accepts names each server takes, whatever characters they hold', () => {
    expect(refusal('postgres', 'sales.orders')).toBeUndefined();
    expect(refusal('postgres', 'Orders "2024"; DROP TABLE x')).toBeUndefined();
    expect(refusal('postgres', 'é'.repeat(31))).toBeUndefined();
    expect(refusal('mysql', 'orders.2024')).toBeUndefined();
    expect(refusal('mysql', 'x'.repeat(64))).toBeUndefined();
    expect(refusal('mongodb', 'orders.2024')).toBeUndefined();
  });

  it('refuses, in plain words, names a server would refuse or silently shorten', () => {
    expect(refusal('postgres', '')).toBe('the table name is empty');
    expect(refusal('postgres', '.orders')).toBe('the schema name is empty');
    // 32 two-byte characters: 64 bytes, one more than PostgreSQL keeps.
    expect(refusal('postgres', `sales.${'é'.repeat(32)}`)).toMatch(
      /^the table name 'é+…' is longer than PostgreSQL's 63 bytes$/,
    );
    expect(refusal('postgres', 'a\0b')).toBe('the table name contains a NUL');
    expect(refusal('mysql', 'x'.repeat(65))).toMatch(/longer than MySQL's 64 characters/);
    expect(refusal('mysql', 'orders ')).toBe(
      "the table name 'orders ' ends in a space, which MySQL does not allow",
    );
    expect(refusal('mysql', 'orders😀')).toMatch(/a character MySQL does not allow in names/);
    expect(refusal('mongodb', 'system.users')).toBe(
      "'system.users' is not a collection CloudFlow may use",
    );
    expect(refusal('mongodb', '')).toBe('the collection name is empty');
  });
});
