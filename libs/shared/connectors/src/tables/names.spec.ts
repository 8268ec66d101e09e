import { ConnectorError } from '../connector-error';
import {
  checkName,
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
