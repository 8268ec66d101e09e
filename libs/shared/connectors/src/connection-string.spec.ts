import {
  parseConnectionString,
  redactedConnectionString,
  type ParsedConnection,
} from './connection-string';

function ok(result: ParsedConnection) {
  if (!result.ok) throw new Error(`expected a config, got: ${result.problems.join('; ')}`);
  return result.config;
}

function problems(result: ParsedConnection): string[] {
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe('parseConnectionString', () => {
  it('reads the published key=value example as PostgreSQL for type database', () => {
    expect(
      ok(
        parseConnectionString(
          'database',
          'Server=fake-db;Database=fake;User Id=fake;Password=fake;',
        ),
      ),
    ).toEqual({
      driver: 'postgres',
      host: 'fake-db',
      port: 5432,
      database: 'fake',
      user: 'fake',
      password: 'fake',
      options: {},
    });
  });

  it('lets the type or Driver= choose the driver of a key=value string', () => {
    expect(ok(parseConnectionString('mysql', 'Server=db;Database=shop;Uid=u;Pwd=p')).driver).toBe(
      'mysql',
    );
    expect(
      ok(
        parseConnectionString(
          'database',
          'Driver=MariaDB;Server=db;Database=shop;User=u;Password=p',
        ),
      ),
    ).toMatchObject({ driver: 'mysql', port: 3306 });
    expect(ok(parseConnectionString('database', 'Provider=mongodb;Host=db')).driver).toBe(
      'mongodb',
    );
  });

  it('reads key names case-insensitively, with aliases, quoted values and host,port', () => {
    expect(
      ok(
        parseConnectionString(
          'postgres',
          'data source=db.internal,6543;INITIAL CATALOG=sales;uid=reader;pwd="p;w=d"',
        ),
      ),
    ).toEqual({
      driver: 'postgres',
      host: 'db.internal',
      port: 6543,
      database: 'sales',
      user: 'reader',
      password: 'p;w=d',
      options: {},
    });
  });

  it.each([
    [
      'postgres',
      'postgres://app:s3cret@db.example.com:6543/orders?sslmode=require',
      {
        driver: 'postgres',
        host: 'db.example.com',
        port: 6543,
        database: 'orders',
        user: 'app',
        password: 's3cret',
        options: { sslmode: 'require' },
      },
    ],
    [
      'database',
      'postgresql://app@10.0.0.5/orders',
      {
        driver: 'postgres',
        host: '10.0.0.5',
        port: 5432,
        database: 'orders',
        user: 'app',
        options: {},
      },
    ],
    [
      'mysql',
      'mariadb://root:pw@127.0.0.1/shop',
      {
        driver: 'mysql',
        host: '127.0.0.1',
        port: 3306,
        database: 'shop',
        user: 'root',
        password: 'pw',
        options: {},
      },
    ],
    [
      'mongodb',
      'mongodb://u:p%40ss@mongo:27018/app?authSource=admin',
      {
        driver: 'mongodb',
        host: 'mongo',
        port: 27018,
        database: 'app',
        user: 'u',
        password: 'p@ss',
        options: { authSource: 'admin' },
      },
    ],
    [
      's3',
      's3://AKIAEXAMPLE:secretkey@fake-bucket/data.csv?region=eu-west-1',
      {
        driver: 's3',
        bucket: 'fake-bucket',
        key: 'data.csv',
        user: 'AKIAEXAMPLE',
        password: 'secretkey',
        options: { region: 'eu-west-1' },
      },
    ],
    ['file', '/fake/data.csv', { driver: 'file', path: '/fake/data.csv', options: {} }],
    [
      'file',
      'file:///fake/data%20set.csv',
      { driver: 'file', path: '/fake/data set.csv', options: {} },
    ],
  ] as const)('reads a %s URL', (type, raw, expected) => {
    expect(ok(parseConnectionString(type, raw))).toEqual(expected);
  });

  it.each([
    ['', 'the connection string is empty'],
    ['just words', 'neither a URL'],
    ['oracle://db/x', "unsupported scheme 'oracle://'"],
    [
      'postgres://db/x?sslmode=maybe',
      "option 'sslmode' must be one of disable, require, verify-ca, verify-full",
    ],
    [
      'postgres://db/x?sslrootcert=/etc/passwd',
      "unknown option 'sslrootcert' for postgres; supported: sslmode, connect_timeout, application_name",
    ],
    ['Server=db;Port=abc', "Port 'abc' is not a number"],
    ['Server=db;Port=70000', 'port 70000 is outside 1-65535'],
    ['Database=x;User Id=u', 'the host is missing'],
    ['Server=db ;;Server=other', "'Server' is given twice"],
    ['Server=bad host!;', 'is not a valid host name'],
    ['Server=db;Password="unterminated', 'a quoted value is not closed'],
    ['Driver=oracle;Server=db', "unsupported Driver 'oracle'"],
  ])('explains what is wrong with %p', (raw, expected) => {
    expect(problems(parseConnectionString('database', raw)).join('; ')).toContain(expected);
  });

  it('refuses a string whose driver is not the type', () => {
    expect(problems(parseConnectionString('mysql', 'postgres://db/x'))).toEqual([
      "type 'mysql' does not match a postgres connection string",
    ]);
    expect(problems(parseConnectionString('s3', 'Server=db'))).toEqual([
      'a s3 data source takes a URL (s3://...), not key=value pairs',
    ]);
  });

  it.each([
    '/data/../etc/passwd',
    'file:///../../etc/passwd',
    'file://host/share/x.csv',
    'relative/path.csv',
  ])('refuses a file path that could leave the data root or is not absolute: %p', (raw) => {
    expect(parseConnectionString('file', raw).ok).toBe(false);
  });

  it.each([
    's3://Bad_Bucket/x',
    's3://b/x',
    's3://bucket:9000/x',
    's3://bucket/x?endpoint=ftp://x',
  ])('refuses a malformed S3 location %p', (raw) => {
    expect(parseConnectionString('s3', raw).ok).toBe(false);
  });

  it('never repeats the password in a problem', () => {
    for (const raw of [
      'Server=bad host;Password=hunter2-secret;Port=x',
      'postgres://u:hunter2-secret@bad host/x',
      'postgres://u:hunter2-secret@db/x?bogus=1',
      'Server=db;Password=hunter2-secret;Frobnicate=1',
    ]) {
      const result = parseConnectionString('database', raw);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems.join(' ')).not.toContain('hunter2');
    }
  });

  it('refuses control characters and overlong strings', () => {
    expect(parseConnectionString('postgres', 'postgres://db/x\n').ok).toBe(false);
    expect(parseConnectionString('postgres', `postgres://db/${'x'.repeat(5000)}`).ok).toBe(false);
  });
});

describe('redactedConnectionString', () => {
  it('shows everything but the password', () => {
    const config = ok(
      parseConnectionString('database', 'Server=fake-db;Database=fake;User Id=fake;Password=fake;'),
    );
    expect(redactedConnectionString(config)).toBe('postgres://fake:****@fake-db:5432/fake');
    const s3 = ok(
      parseConnectionString('s3', 's3://AKIA:topsecret@fake-bucket/in/?region=us-east-1'),
    );
    expect(redactedConnectionString(s3)).toBe('s3://AKIA:****@fake-bucket/in/?region=us-east-1');
    expect(redactedConnectionString(ok(parseConnectionString('file', '/fake/data.csv')))).toBe(
      'file:///fake/data.csv',
    );
  });

  it('reads back as the same configuration, password aside', () => {
    const config = ok(parseConnectionString('mysql', 'mysql://app:pw@[::1]:3307/shop?ssl=true'));
    const again = ok(parseConnectionString('mysql', redactedConnectionString(config)));
    expect({ ...again, password: undefined }).toEqual({ ...config, password: undefined });
  });
});
