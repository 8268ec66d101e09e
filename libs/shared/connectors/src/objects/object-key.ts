import type { ConnectionConfig } from '../connection-string';
import { ConnectorError } from '../connector-error';

/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * The object key for a data source plus an optional `object` from a pipeline
 * step: the data source's key when it names an object, `prefix + object` when
 * it names a prefix ending in '/', else `object`. Throws ConnectorError
 * (permanent) when neither names an object.
 *
 * A step's `object` may not climb out of the data source's prefix: `.` and
 * `..` segments are refused, since some S3-compatible servers resolve them as
 * paths, and so is a leading '/', which would name a different key.
 */
export function objectKeyOf(config: ConnectionConfig, object?: string): string {
  const own = config.key ?? '';
  if (own !== '' && !own.endsWith('/')) return own;
  if (object === undefined || object === '') {
    throw new ConnectorError(
      own === ''
        ? `the data source names the bucket '${config.bucket ?? ''}' but no object: the step must name one`
        : `the data source names the prefix '${own}' but no object: the step must name one`,
      true,
    );
  }
  checkObjectName(object);
  const key = own + object;
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new ConnectorError(`the object key is longer than ${MAX_KEY_BYTES} bytes`, true);
  }
  return key;
}

function checkObjectName(object: string): void {
  if (object.startsWith('/')) {
    throw new ConnectorError(
      `the object '${object}' starts with '/': name it relative to the data source`,
      true,
    );
  }
  if (object.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new ConnectorError(`the object '${object}' may not contain '.' or '..' segments`, true);
  }
  if ([...object].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
    throw new ConnectorError('the object name contains control characters', true);
  }
}
