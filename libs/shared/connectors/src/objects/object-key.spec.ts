import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';
import { objectKeyOf } from './object-key';

const source = (key?: string): ConnectionConfig => ({
  driver: 's3',
  bucket: 'sales',
  ...(key !== undefined && { key }),
  options: {},
});

/** The error objectKeyOf throws, for its message and permanence. */
function refusal(config: ConnectionConfig, object?: string): ConnectorError {
  try {
    objectKeyOf(config, object);
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error('objectKeyOf accepted it');
}

describe('objectKeyOf', () => {
  it("is the data source's key when that names an object", () => {
    expect(objectKeyOf(source('in/2026/orders.csv'))).toBe('in/2026/orders.csv');
    expect(objectKeyOf(source('in/2026/orders.csv'), 'other.csv')).toBe('in/2026/orders.csv');
  });

  it("is the prefix plus the step's object when the data source names a prefix", () => {
    expect(objectKeyOf(source('in/'), 'orders.csv')).toBe('in/orders.csv');
    expect(objectKeyOf(source('in/'), '2026/05/orders.csv')).toBe('in/2026/05/orders.csv');
  });

  it("is the step's object when the data source names only the bucket", () => {
    expect(objectKeyOf(source(), 'orders.csv')).toBe('orders.csv');
    expect(objectKeyOf(source(''), 'a/b.jsonl')).toBe('a/b.jsonl');
  });

  it('refuses, permanently, when neither names an object', () => {
    const bucketOnly = refusal(source());
    expect(bucketOnly.permanent).toBe(true);
    expect(bucketOnly.message).toBe(
      "the data source names the bucket 'sales' but no object: the step must name one",
    );
    expect(refusal(source('in/'), '').message).toBe(
      "the data source names the prefix 'in/' but no object: the step must name one",
    );
  });

  it('refuses objects that would leave the prefix or name another key', () => {
    for (const object of ['../secret.csv', 'a/../../b', './x', 'a/./b', '/abs.csv']) {
      const error = refusal(source('in/'), object);
      expect(error.permanent).toBe(true);
      expect(error.name).toBe('ConnectorError');
    }
    expect(refusal(source('in/'), 'a\u0000b').message).toBe(
      'the object name contains control characters',
    );
  });

  it('accepts dots inside names, and refuses keys over 1024 bytes', () => {
    expect(objectKeyOf(source('in/'), '..hidden/v1..2.csv')).toBe('in/..hidden/v1..2.csv');
    expect(objectKeyOf(source(), 'é'.repeat(512))).toHaveLength(512);
    expect(refusal(source('in/'), 'é'.repeat(511)).message).toBe(
      'the object key is longer than 1024 bytes',
    );
  });
});
