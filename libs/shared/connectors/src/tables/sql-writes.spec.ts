import { mysqlId, pgId } from './names';
import {
  createTableSql,
  inferColumns,
  insertStatements,
  sqlValue,
  type SqlDialect,
} from './sql-writes';

const pg: SqlDialect = {
  quoteId: pgId,
  placeholder: (i) => `$${i}`,
  columnType: (kind) => kind.toUpperCase(),
  insertDefaults: (table, count) => `INSERT ${count} DEFAULT ROWS INTO ${table}`,
  maxParameters: 5,
};

describe('inferColumns', () => {
  it('types each field by every value of the batch, in the order fields first appear', () => {
    expect(
      inferColumns([
        { id: 1, name: 'Ada', score: 1, tags: ['x'], seen: null },
        { id: 2, name: 'Grace', score: 2.5, active: true, seen: null },
        { id: 3, name: 5, tags: { a: 1 } },
      ]),
    ).toEqual([
      { name: 'id', kind: 'number' },
      { name: 'name', kind: 'text' },
      { name: 'score', kind: 'number' },
      { name: 'tags', kind: 'json' },
      { name: 'seen', kind: 'text' },
      { name: 'active', kind: 'boolean' },
    ]);
  });

  it('gives whole numbers and fractions one kind, so a column made for 10 also takes 10.5', () => {
    expect(inferColumns([{ n: 10 }])).toEqual([{ name: 'n', kind: 'number' }]);
    expect(inferColumns([{ n: 10 }, { n: 10.5 }, { n: 2 ** 60 }, { n: 7n }])).toEqual([
      { name: 'n', kind: 'number' },
    ]);
  });
});

describe('createTableSql', () => {
  it('quotes every name, whatever it holds', () => {
    expect(
      createTableSql(pg, '"s"."t"', [
        { name: 'plain', kind: 'text' },
        { name: 'we"ird; DROP TABLE x', kind: 'number' },
      ]),
    ).toBe('CREATE TABLE "s"."t" ("plain" TEXT, "we""ird; DROP TABLE x" NUMBER)');
  });
});

describe('insertStatements', () => {
  const columns = [
    { name: 'a', field: 'a' },
    { name: 'doc', field: 'doc', json: true },
  ];

  it('sends values as parameters, a missing field as DEFAULT, and splits at the parameter limit', () => {
    const statements = insertStatements(
      pg,
      '"t"',
      columns,
      [{ a: 1, doc: { x: 1 } }, { a: 2 }, { doc: 'text' }, { a: 4, doc: null }],
      1_000_000,
    );
    expect(statements).toEqual([
      {
        sql: 'INSERT INTO "t" ("a", "doc") VALUES ($1, $2), ($3, DEFAULT), (DEFAULT, $4)',
        values: [1, '{"x":1}', 2, '"text"'],
      },
      { sql: 'INSERT INTO "t" ("a", "doc") VALUES ($1, $2)', values: [4, null] },
    ]);
  });

  it('starts a new statement once one carries about the byte budget', () => {
    const rows = [{ a: 'x'.repeat(50) }, { a: 'y' }, { a: 'z' }];
    const statements = insertStatements(pg, '"t"', [{ name: 'a', field: 'a' }], rows, 40);
    expect(statements.map((s) => s.values)).toEqual([['x'.repeat(50)], ['y', 'z']]);
  });

  it('fills rows without fields with defaults, and writes nothing for no rows', () => {
    expect(insertStatements(pg, '"t"', [], [{}, {}], 100)).toEqual([
      { sql: 'INSERT 2 DEFAULT ROWS INTO "t"', values: [] },
    ]);
    expect(insertStatements(pg, '"t"', columns, [], 100)).toEqual([]);
  });

  it('uses MySQL placeholders and backquotes in the MySQL dialect', () => {
    const mysql: SqlDialect = { ...pg, quoteId: mysqlId, placeholder: () => '?' };
    expect(
      insertStatements(mysql, '`t`', [{ name: 'a`b', field: 'A`B' }], [{ 'A`B': 1 }], 100),
    ).toEqual([{ sql: 'INSERT INTO `t` (`a``b`) VALUES (?)', values: [1] }]);
  });
});

describe('sqlValue', () => {
  it('sends objects and arrays as JSON text, and arrays natively to array columns', () => {
    expect(sqlValue({ a: 1 }, { name: 'c' })).toBe('{"a":1}');
    expect(sqlValue(['x'], { name: 'c' })).toBe('["x"]');
    expect(sqlValue(['x'], { name: 'c', array: true })).toEqual(['x']);
    expect(sqlValue('plain', { name: 'c', json: true })).toBe('"plain"');
    expect(sqlValue(undefined, { name: 'c' })).toBeNull();
    expect(sqlValue(true, { name: 'c' })).toBe(true);
  });
});
