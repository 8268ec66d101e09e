/**
 * Connection strings as users write them — URLs (`postgres://`, `mysql://`,
 * `mongodb://`, `s3://`, `file://` or a plain path) or the key=value form of
 * the published API (`Server=...;Database=...;User Id=...;Password=...;`) —
 * turned into one checked shape. Only the drivers and options CloudFlow
 * supports are accepted, before any driver is loaded. Problems never quote
 * the password.
 */

export const DRIVERS = ['postgres', 'mysql', 'mongodb', 's3', 'file'] as const;
export type Driver = (typeof DRIVERS)[number];

/** What a data source's `type` may say; `database` lets the string choose (PostgreSQL by default). */
export const DATA_SOURCE_TYPES = [...DRIVERS, 'database'] as const;
export type DataSourceType = (typeof DATA_SOURCE_TYPES)[number];

export interface ConnectionConfig {
  driver: Driver;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** S3: the bucket, and an optional key or prefix inside it. */
  bucket?: string;
  key?: string;
  /** File: the path inside the data root. */
  path?: string;
  /** Driver options CloudFlow supports, by their canonical name. */
  options: Record<string, string>;
}

export type ParsedConnection =
  | { ok: true; config: ConnectionConfig }
  | { ok: false; problems: string[] };

const MAX_LENGTH = 4096;

const DEFAULT_PORTS: Partial<Record<Driver, number>> = {
  postgres: 5432,
  mysql: 3306,
  mongodb: 27017,
};

const SCHEMES: Record<string, Driver> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
  'mongodb:': 'mongodb',
  's3:': 's3',
  'file:': 'file',
};

/** Options each driver accepts, with the values allowed (undefined: any short value). */
const OPTIONS: Record<Driver, Record<string, readonly string[] | undefined>> = {
  postgres: {
    sslmode: ['disable', 'require', 'verify-ca', 'verify-full'],
    connect_timeout: undefined,
    application_name: undefined,
  },
  mysql: { ssl: ['true', 'false'], connectTimeout: undefined },
  mongodb: {
    authSource: undefined,
    tls: ['true', 'false'],
    replicaSet: undefined,
    directConnection: ['true', 'false'],
  },
  s3: { region: undefined, endpoint: undefined, forcePathStyle: ['true', 'false'] },
  file: {},
};

/** What `Driver=` (or `Provider=`) may name in the key=value form. */
const DRIVER_NAMES: Record<string, Driver> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  pgsql: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
  mongodb: 'mongodb',
  mongo: 'mongodb',
};

/** key=value names, case-insensitive, and the field each fills. */
const KEY_ALIASES: Record<string, 'host' | 'port' | 'database' | 'user' | 'password' | 'driver'> = {
  server: 'host',
  host: 'host',
  'data source': 'host',
  address: 'host',
  addr: 'host',
  port: 'port',
  database: 'database',
  'initial catalog': 'database',
  dbname: 'database',
  'user id': 'user',
  uid: 'user',
  user: 'user',
  username: 'user',
  password: 'password',
  pwd: 'password',
  driver: 'driver',
  provider: 'driver',
};

const HOST =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^\[?[0-9A-Fa-f:.]+\]?$/;
const NAME = /^[A-Za-z0-9_$.-]{1,128}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The type a connection string speaks for when none is given: its scheme's, else a database. */
export function typeOf(raw: string): DataSourceType {
  const trimmed = raw.trim();
  if (trimmed.startsWith('/')) return 'file';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//
    .exec(trimmed)?.[1]
    ?.toLowerCase()
    .replace('+srv', '');
  const driver = scheme === undefined ? undefined : SCHEMES[`${scheme}:`];
  return driver ?? 'database';
}

/** Parses `raw` for a data source of `type`; the type and the string must agree on the driver. */
export function parseConnectionString(type: DataSourceType, raw: string): ParsedConnection {
  if (raw.length === 0) return fail(['the connection string is empty']);
  if (raw.length > MAX_LENGTH)
    return fail([`the connection string is longer than ${MAX_LENGTH} characters`]);
  if ([...raw].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
    return fail(['the connection string contains control characters']);
  }
  const trimmed = raw.trim();
  if (type === 'file' || trimmed.startsWith('/')) return parseFile(type, trimmed);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && trimmed.includes('://')) return parseUrl(type, trimmed, scheme);
  if (trimmed.includes('=')) return parseKeyValue(type, trimmed);
  return fail([
    'the connection string is neither a URL (postgres://, mysql://, mongodb://, s3://, file://) nor key=value pairs (Server=...;Database=...;)',
  ]);
}

function parseUrl(type: DataSourceType, raw: string, scheme: string): ParsedConnection {
  const driver = SCHEMES[`${scheme.replace('+srv', '')}:`];
  if (!driver) {
    return fail([
      `unsupported scheme '${scheme.slice(0, 20)}://'; use postgres://, mysql://, mongodb://, s3:// or file://`,
    ]);
  }
  const mismatch = typeMismatch(type, driver);
  if (mismatch) return fail([mismatch]);
  if (driver === 'file') return parseFile(type, raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail([`the ${driver} URL is malformed`]);
  }
  const problems: string[] = [];
  const config: ConnectionConfig = { driver, options: {} };
  const user = decode(url.username, 'user name', problems);
  const password = decode(url.password, 'password', problems);
  if (user) config.user = user;
  if (password) config.password = password;
  if (driver === 's3') {
    config.bucket = url.hostname;
    const key = decode(url.pathname.replace(/^\//, ''), 'object key', problems);
    if (key) config.key = key;
    if (url.port) problems.push('an s3:// URL names a bucket, not a host and port');
  } else {
    config.host = url.hostname;
    if (url.port) config.port = Number(url.port);
    const database = decode(url.pathname.replace(/^\//, ''), 'database name', problems);
    if (database) config.database = database;
    if (scheme === 'mongodb+srv') config.options['srv'] = 'true';
  }
  for (const [name, value] of url.searchParams) addOption(config, name, value, problems);
  return finish(config, problems);
}

function parseKeyValue(type: DataSourceType, raw: string): ParsedConnection {
  const problems: string[] = [];
  const fields: Partial<
    Record<'host' | 'port' | 'database' | 'user' | 'password' | 'driver', string>
  > = {};
  const options: [string, string][] = [];
  for (const pair of splitPairs(raw, problems)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`'${pair.split('=')[0]?.slice(0, 40) ?? ''}' is not a key=value pair`);
      continue;
    }
    const name = pair.slice(0, eq).trim();
    const value = unquote(pair.slice(eq + 1).trim());
    const field = KEY_ALIASES[name.toLowerCase().replace(/\s+/g, ' ')];
    if (!field) {
      options.push([name, value]);
      continue;
    }
    if (fields[field] !== undefined) problems.push(`'${name}' is given twice`);
    fields[field] = value;
  }
  let driver: Driver;
  const named = fields.driver?.toLowerCase();
  if (named !== undefined) {
    const chosen = DRIVER_NAMES[named];
    if (!chosen) {
      return fail([
        `unsupported Driver '${fields.driver?.slice(0, 20)}'; use postgres, mysql or mongodb`,
      ]);
    }
    driver = chosen;
  } else {
    driver = type === 'database' ? 'postgres' : (type as Driver);
  }
  const mismatch = typeMismatch(type, driver);
  if (mismatch) return fail([mismatch]);
  if (driver === 's3' || driver === 'file') {
    return fail([`a ${driver} data source takes a URL (${driver}://...), not key=value pairs`]);
  }
  const config: ConnectionConfig = { driver, options: {} };
  let host = fields.host;
  // `Server=host,5432` (SQL Server style) or `host:5432`.
  const hostPort = host ? /^(.*?)[,:](\d+)$/.exec(host) : null;
  if (host && hostPort && !host.includes('[') && (host.match(/:/g)?.length ?? 0) <= 1) {
    host = hostPort[1];
    if (fields.port === undefined) fields.port = hostPort[2];
  }
  if (host) config.host = host;
  if (fields.port !== undefined) {
    if (!/^\d{1,5}$/.test(fields.port))
      problems.push(`Port '${fields.port.slice(0, 10)}' is not a number`);
    else config.port = Number(fields.port);
  }
  if (fields.database) config.database = fields.database;
  if (fields.user) config.user = fields.user;
  if (fields.password) config.password = fields.password;
  for (const [name, value] of options) addOption(config, name, value, problems);
  return finish(config, problems);
}

function parseFile(type: DataSourceType, raw: string): ParsedConnection {
  const mismatch = typeMismatch(type, 'file');
  if (mismatch) return fail([mismatch]);
  let path = raw;
  // Checked before any URL parsing, which would quietly resolve dot segments.
  if (/(^|[/\\])(\.|%2e){2}([/\\]|$)/i.test(raw)) {
    return fail(["a file path may not contain '..'"]);
  }
  if (raw.toLowerCase().startsWith('file://')) {
    try {
      const url = new URL(raw);
      if (url.host !== '') return fail(['a file:// URL names no host: file:///path/in/data/root']);
      path = decodeURIComponent(url.pathname);
    } catch {
      return fail(['the file:// URL is malformed']);
    }
  }
  if (!path.startsWith('/')) return fail(['a file path starts with / (the data root)']);
  if (path.split('/').some((segment) => segment === '..')) {
    return fail(["a file path may not contain '..'"]);
  }
  return { ok: true, config: { driver: 'file', path, options: {} } };
}

function typeMismatch(type: DataSourceType, driver: Driver): string | undefined {
  if (type === 'database') {
    return driver === 's3' || driver === 'file'
      ? `type 'database' takes a database connection string, not ${driver}`
      : undefined;
  }
  return type === driver
    ? undefined
    : `type '${type}' does not match a ${driver} connection string`;
}

function addOption(
  config: ConnectionConfig,
  name: string,
  value: string,
  problems: string[],
): void {
  const allowed = OPTIONS[config.driver];
  const canonical = Object.keys(allowed).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!canonical) {
    const supported = Object.keys(allowed);
    problems.push(
      `unknown option '${name.slice(0, 40)}' for ${config.driver}${supported.length ? `; supported: ${supported.join(', ')}` : ''}`,
    );
    return;
  }
  const values = allowed[canonical];
  if (values && !values.includes(value)) {
    problems.push(`option '${canonical}' must be one of ${values.join(', ')}`);
    return;
  }
  if (value.length > 256) {
    problems.push(`option '${canonical}' is too long`);
    return;
  }
  config.options[canonical] = value;
}

function finish(config: ConnectionConfig, problems: string[]): ParsedConnection {
  if (config.driver === 's3') {
    if (!config.bucket) problems.push('an s3:// URL names its bucket: s3://bucket/prefix');
    else if (!BUCKET.test(config.bucket))
      problems.push(`'${config.bucket.slice(0, 70)}' is not a valid bucket name`);
    const endpoint = config.options['endpoint'];
    if (endpoint !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(endpoint)) {
      problems.push(
        "option 'endpoint' must be an http(s) URL of a host, e.g. https://s3.example.com",
      );
    }
  } else {
    if (!config.host) problems.push('the host is missing (Server=... or //host in a URL)');
    else if (!HOST.test(config.host))
      problems.push(`'${config.host.slice(0, 70)}' is not a valid host name or address`);
    config.port ??= DEFAULT_PORTS[config.driver];
    if (config.port !== undefined && (config.port < 1 || config.port > 65_535)) {
      problems.push(`port ${config.port} is outside 1-65535`);
    }
    if (config.database !== undefined && !NAME.test(config.database)) {
      problems.push('the database name may contain letters, digits and _ $ . - only (at most 128)');
    }
    if (config.user !== undefined && config.user.length > 128)
      problems.push('the user name is too long');
  }
  return problems.length > 0 ? fail(problems) : { ok: true, config };
}

/**
 * The connection string as it may be shown: canonical URL form, the password
 * (or S3 secret) replaced by `****`.
 */
export function redactedConnectionString(config: ConnectionConfig): string {
  const query = new URLSearchParams(config.options).toString();
  const suffix = query ? `?${query}` : '';
  const credentials = config.user
    ? `${encodeURIComponent(config.user)}${config.password ? ':****' : ''}@`
    : '';
  switch (config.driver) {
    case 'file':
      return `file://${config.path ?? ''}`;
    case 's3':
      return `s3://${credentials}${config.bucket ?? ''}/${config.key ?? ''}${suffix}`;
    default: {
      const host =
        config.host?.includes(':') && !config.host.startsWith('[')
          ? `[${config.host}]`
          : config.host;
      return `${config.driver}://${credentials}${host ?? ''}:${config.port ?? ''}/${config.database ?? ''}${suffix}`;
    }
  }
}

function splitPairs(raw: string, problems: string[]): string[] {
  const pairs: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const char of raw) {
    if (quote) {
      current += char;
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
      current += char;
    } else if (char === ';') {
      if (current.trim()) pairs.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (quote) problems.push('a quoted value is not closed');
  if (current.trim()) pairs.push(current.trim());
  return pairs;
}

function unquote(value: string): string {
  const first = value[0];
  if ((first === '"' || first === "'") && value.endsWith(first) && value.length >= 2) {
    return value.slice(1, -1);
  }
  return value;
}

function decode(value: string, what: string, problems: string[]): string {
  try {
    return decodeURIComponent(value);
  } catch {
    problems.push(`the ${what} is not valid percent-encoding`);
    return '';
  }
}

function fail(problems: string[]): ParsedConnection {
  return { ok: false, problems };
}
