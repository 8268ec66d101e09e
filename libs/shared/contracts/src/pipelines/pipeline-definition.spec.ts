import { MAX_STEPS, validateSteps, type ValidationResult } from './pipeline-definition';
import {
  TRANSFORM_OPERATIONS,
  TRANSFORM_OPERATION_NAMES,
  type TransformOperation,
} from './transform-operations';

const source = { type: 'source', config: { path: '/fake/data.csv' } };
const sink = { type: 'sink', config: { target: 'db://fake-database' } };

function problemsOf<T>(result: ValidationResult<T>): string[] {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.problems;
}

/** The problems of a single transform step placed between a source and a sink. */
function transformProblems(config: Record<string, unknown>): string[] {
  return problemsOf(validateSteps([source, { type: 'transform', config }, sink]));
}

function sourceProblems(config: Record<string, unknown>): string[] {
  return problemsOf(validateSteps([{ type: 'source', config }]));
}

function sinkProblems(config: Record<string, unknown>): string[] {
  return problemsOf(validateSteps([{ type: 'sink', config }]));
}

describe('validateSteps', () => {
  describe('the published examples', () => {
    it('accepts the steps of the Create Pipeline example unchanged', () => {
      const steps = [
        { type: 'source', config: { path: '/fake/data.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
        { type: 'sink', config: { target: 'db://fake-database' } },
      ];
      expect(validateSteps(steps)).toEqual({ ok: true, value: steps });
    });

    it('accepts the steps of the Update Pipeline example (a lone transform)', () => {
      const steps = [{ type: 'transform', config: { operation: 'reverse' } }];
      expect(validateSteps(steps)).toEqual({ ok: true, value: steps });
    });

    it("explains a transform without 'operation' exactly like the published error, naming its index", () => {
      const result = validateSteps([source, { type: 'transform', config: {} }, sink]);
      expect(result).toEqual({
        ok: false,
        problems: ["Step 'transform' (steps[1]) missing required field 'operation'"],
      });
    });
  });

  describe('the list of steps', () => {
    it.each([
      ['missing', undefined, "missing required field 'steps'"],
      ['an object', { type: 'source' }, "field 'steps' must be an array"],
      ['a string', 'source,sink', "field 'steps' must be an array"],
      ['null', null, "field 'steps' must be an array"],
      ['empty', [], "field 'steps' must contain at least one step"],
    ])('refuses steps that are %s', (_label, input, problem) => {
      expect(problemsOf(validateSteps(input))).toEqual([problem]);
    });

    it(`accepts ${MAX_STEPS} steps but refuses ${MAX_STEPS + 1}`, () => {
      const transform = { type: 'transform', config: { operation: 'trim' } };
      expect(validateSteps(Array.from({ length: MAX_STEPS }, () => transform)).ok).toBe(true);
      expect(
        problemsOf(validateSteps(Array.from({ length: MAX_STEPS + 1 }, () => transform))),
      ).toEqual([`field 'steps' may contain at most ${MAX_STEPS} steps`]);
    });

    it('reports the problems of every bad step, not only the first', () => {
      const problems = problemsOf(
        validateSteps([
          source,
          { type: 'transform', config: {} },
          { type: 'transform', config: {} },
          sink,
        ]),
      );
      expect(problems).toEqual([
        "Step 'transform' (steps[1]) missing required field 'operation'",
        "Step 'transform' (steps[2]) missing required field 'operation'",
      ]);
    });
  });

  describe('the shape of a step', () => {
    it.each([
      ['a string', 'source'],
      ['null', null],
      ['an array', [source]],
    ])('refuses a step that is %s', (_label, step) => {
      expect(problemsOf(validateSteps([step]))).toEqual([
        "Step steps[0] must be an object with 'type' and 'config'",
      ]);
    });

    it("refuses a step without 'type'", () => {
      expect(problemsOf(validateSteps([{ config: { operation: 'trim' } }]))).toEqual([
        "Step steps[0] missing required field 'type'",
      ]);
    });

    it('refuses an unknown step type and lists the known ones', () => {
      expect(problemsOf(validateSteps([source, { type: 'aggregate', config: {} }]))).toEqual([
        "Step steps[1] has unknown type 'aggregate'; expected one of source, transform, sink",
      ]);
    });

    it('refuses a step type that is not a string', () => {
      expect(problemsOf(validateSteps([{ type: 42, config: {} }]))).toEqual([
        "Step steps[0] has unknown type '42'; expected one of source, transform, sink",
      ]);
    });

    it('refuses an unknown field next to type and config', () => {
      expect(
        problemsOf(
          validateSteps([{ type: 'transform', config: { operation: 'trim' }, name: 'x' }]),
        ),
      ).toEqual(["Step 'transform' (steps[0]) has unknown field 'name'"]);
    });

    it("refuses a step without 'config'", () => {
      expect(problemsOf(validateSteps([{ type: 'transform' }]))).toEqual([
        "Step 'transform' (steps[0]) missing required field 'config'",
      ]);
    });

    it.each([
      ['a string', 'uppercase'],
      ['an array', [{ operation: 'uppercase' }]],
      ['null', null],
    ])("refuses a 'config' that is %s", (_label, config) => {
      expect(problemsOf(validateSteps([{ type: 'transform', config }]))).toEqual([
        "Step 'transform' (steps[0]) field 'config' must be an object",
      ]);
    });
  });

  describe('the order of steps', () => {
    it('refuses a source that is not the first step', () => {
      const problems = problemsOf(
        validateSteps([{ type: 'transform', config: { operation: 'trim' } }, source, sink]),
      );
      expect(problems).toEqual([
        "Step 'source' (steps[1]) must be the first step: a pipeline reads from one source",
      ]);
    });

    it('refuses a second source', () => {
      expect(problemsOf(validateSteps([source, source, sink]))).toEqual([
        "Step 'source' (steps[1]) must be the first step: a pipeline reads from one source",
      ]);
    });

    it('refuses a sink that is not the last step', () => {
      const problems = problemsOf(
        validateSteps([source, sink, { type: 'transform', config: { operation: 'trim' } }]),
      );
      expect(problems).toEqual([
        "Step 'sink' (steps[1]) must be the last step: a pipeline writes to one sink",
      ]);
    });

    it('accepts a pipeline of a source and a sink only', () => {
      expect(validateSteps([source, sink]).ok).toBe(true);
    });
  });

  describe('transform steps', () => {
    it('refuses an unknown operation and lists every known one', () => {
      const problems = transformProblems({ operation: 'explode' });
      expect(problems).toEqual([
        `Step 'transform' (steps[1]) has unknown operation 'explode'; expected one of ${TRANSFORM_OPERATION_NAMES.join(', ')}`,
      ]);
      for (const name of TRANSFORM_OPERATION_NAMES) expect(problems[0]).toContain(name);
    });

    it('refuses an operation that is not a string', () => {
      expect(transformProblems({ operation: 7 })[0]).toMatch(
        /^Step 'transform' \(steps\[1\]\) has unknown operation '7'/,
      );
    });

    it('does not treat inherited object properties as operations', () => {
      expect(transformProblems({ operation: 'toString' })[0]).toContain(
        "has unknown operation 'toString'",
      );
      expect(transformProblems({ operation: '__proto__' })[0]).toContain(
        "has unknown operation '__proto__'",
      );
    });

    it("refuses a filter without 'expression'", () => {
      expect(transformProblems({ operation: 'filter' })).toEqual([
        "Step 'transform' (steps[1]) operation 'filter' missing required field 'expression'",
      ]);
    });

    it('refuses a filter whose expression is blank', () => {
      expect(transformProblems({ operation: 'filter', expression: '   ' })).toEqual([
        "Step 'transform' (steps[1]) operation 'filter' field 'expression' must be at least 1 character(s)",
      ]);
    });

    it('refuses a filter whose expression is not a string', () => {
      expect(transformProblems({ operation: 'filter', expression: 5 })).toEqual([
        "Step 'transform' (steps[1]) operation 'filter' field 'expression' must be a string",
      ]);
    });

    it("refuses a select without 'fields' and one with no fields", () => {
      expect(transformProblems({ operation: 'select' })).toEqual([
        "Step 'transform' (steps[1]) operation 'select' missing required field 'fields'",
      ]);
      expect(transformProblems({ operation: 'select', fields: [] })).toEqual([
        "Step 'transform' (steps[1]) operation 'select' field 'fields' must have at least 1 item(s)",
      ]);
    });

    it('refuses field names MongoDB cannot store', () => {
      const problems = transformProblems({ operation: 'drop', fields: ['ok', 'a.b', '$where'] });
      expect(problems).toHaveLength(2);
      expect(problems[0]).toContain("field 'fields.1'");
      expect(problems[1]).toContain("field 'fields.2'");
    });

    it('refuses a rename with an empty mapping', () => {
      expect(transformProblems({ operation: 'rename', mapping: {} })).toEqual([
        "Step 'transform' (steps[1]) operation 'rename' field 'mapping' must map at least one field",
      ]);
    });

    it('refuses a rename whose mapping is not an object', () => {
      expect(transformProblems({ operation: 'rename', mapping: ['a', 'b'] })).toEqual([
        "Step 'transform' (steps[1]) operation 'rename' field 'mapping' must be a record",
      ]);
    });

    it('refuses a cast to an unknown type and lists the known types', () => {
      expect(transformProblems({ operation: 'cast', types: { age: 'float' } })).toEqual([
        "Step 'transform' (steps[1]) operation 'cast' field 'types.age' must be one of " +
          '"string", "integer", "number", "boolean", "date", "timestamp"',
      ]);
    });

    it('refuses a mask whose character is longer than one', () => {
      const problems = transformProblems({ operation: 'mask', fields: ['card'], char: '**' });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^Step 'transform' \(steps\[1\]\) operation 'mask' field 'char' /,
      );
    });

    it('refuses a hash with an unsupported algorithm', () => {
      expect(transformProblems({ operation: 'hash', fields: ['email'], algorithm: 'md5' })).toEqual(
        [
          `Step 'transform' (steps[1]) operation 'hash' field 'algorithm' must be one of "sha256", "sha512"`,
        ],
      );
    });

    it('refuses an unknown config field, naming it', () => {
      expect(transformProblems({ operation: 'uppercase', columns: ['a'] })).toEqual([
        "Step 'transform' (steps[1]) operation 'uppercase' has unknown field 'columns'",
      ]);
    });

    it('refuses an unknown field inside a validate rule, naming its path', () => {
      expect(
        transformProblems({ operation: 'validate', rules: [{ field: 'age', regex: '^\\d+$' }] }),
      ).toEqual([
        "Step 'transform' (steps[1]) operation 'validate' has unknown field 'rules.0.regex'",
      ]);
    });

    it('reports every problem of one config at once', () => {
      const problems = transformProblems({ operation: 'derive' });
      expect(problems).toEqual([
        "Step 'transform' (steps[1]) operation 'derive' missing required field 'field'",
        "Step 'transform' (steps[1]) operation 'derive' missing required field 'expression'",
      ]);
    });
  });

  describe('every transform operation in the catalogue', () => {
    // A new operation without an example here makes this suite fail.
    const examples: Record<TransformOperation, Record<string, unknown>[]> = {
      uppercase: [{ operation: 'uppercase' }, { operation: 'uppercase', fields: ['name', 'city'] }],
      lowercase: [{ operation: 'lowercase' }, { operation: 'lowercase', fields: ['email'] }],
      reverse: [{ operation: 'reverse' }, { operation: 'reverse', fields: ['code'] }],
      trim: [{ operation: 'trim' }, { operation: 'trim', fields: ['name'] }],
      filter: [{ operation: 'filter', expression: 'age >= 18' }],
      select: [{ operation: 'select', fields: ['id', 'name'] }],
      drop: [{ operation: 'drop', fields: ['password'] }],
      rename: [{ operation: 'rename', mapping: { fname: 'firstName' } }],
      cast: [
        {
          operation: 'cast',
          types: { age: 'integer', signedUpAt: 'timestamp', active: 'boolean' },
        },
      ],
      derive: [
        { operation: 'derive', field: 'fullName', expression: "firstName + ' ' + lastName" },
      ],
      fill: [
        { operation: 'fill', values: { country: 'unknown', score: 0, vip: false, note: null } },
      ],
      mask: [
        { operation: 'mask', fields: ['card'] },
        { operation: 'mask', fields: ['card'], keepStart: 0, keepEnd: 4, char: '#' },
      ],
      hash: [
        { operation: 'hash', fields: ['email'] },
        { operation: 'hash', fields: ['email'], algorithm: 'sha512', salt: 'pepper' },
      ],
      validate: [
        {
          operation: 'validate',
          rules: [
            { field: 'email', required: true, pattern: '^[^@]+@[^@]+$' },
            { field: 'age', type: 'integer', min: 0, max: 150 },
            { field: 'tier', oneOf: ['gold', 'silver', null] },
          ],
        },
      ],
    };

    it('has an example for each operation and no example for an operation that does not exist', () => {
      expect(Object.keys(examples).sort()).toEqual([...TRANSFORM_OPERATION_NAMES].sort());
    });

    it.each(TRANSFORM_OPERATION_NAMES.map((name) => [name] as const))(
      'accepts example configs of %s',
      (name) => {
        const configs = examples[name];
        expect(configs?.length).toBeGreaterThan(0);
        for (const config of configs ?? []) {
          const steps = [source, { type: 'transform', config }, sink];
          expect(validateSteps(steps)).toEqual({ ok: true, value: steps });
          expect(TRANSFORM_OPERATIONS[name].safeParse(config).success).toBe(true);
        }
      },
    );

    it.each(TRANSFORM_OPERATION_NAMES.map((name) => [name] as const))(
      'refuses an unknown field in %s',
      (name) => {
        const config = { ...examples[name][0], bogusField: true };
        expect(transformProblems(config)).toContain(
          `Step 'transform' (steps[1]) operation '${name}' has unknown field 'bogusField'`,
        );
      },
    );
  });

  describe('source steps', () => {
    it('accepts a csv source with options', () => {
      const step = {
        type: 'source',
        config: {
          path: '/in/data.csv',
          format: 'csv',
          csv: { delimiter: ';', quote: "'", header: true },
        },
      };
      expect(validateSteps([step])).toEqual({ ok: true, value: [step] });
    });

    it("refuses a source without 'path'", () => {
      expect(sourceProblems({})).toEqual([
        "Step 'source' (steps[0]) missing required field 'path' (or 'datasource' to read a data source)",
      ]);
    });

    it('refuses an unsupported file format', () => {
      expect(sourceProblems({ path: '/in/data.xml', format: 'xml' })).toEqual([
        `Step 'source' (steps[0]) field 'format' must be one of "csv", "jsonl"`,
      ]);
    });

    it.each([
      ['a parent segment', '/data/../etc/passwd'],
      ['a leading parent segment', '../secrets.csv'],
      ['a backslash parent segment', '\\data\\..\\secrets.csv'],
      ['an encoded parent segment', '/data/%2e%2e/etc/passwd'],
      ['an upper-case encoded parent segment', '/data/%2E%2E/etc/passwd'],
      ['an encoded slash and parent segment', '/data/..%2fetc'],
    ])("refuses a path with %s ('..')", (_label, path) => {
      expect(sourceProblems({ path })).toEqual([
        "Step 'source' (steps[0]) field 'path' must not contain '..' segments",
      ]);
    });

    it.each([
      'file:///etc/passwd',
      'FILE:///etc/passwd',
      's3://bucket/data.csv',
      'http://example.com/data.csv',
    ])('refuses the URL %s as a path', (path) => {
      expect(sourceProblems({ path })).toEqual([
        "Step 'source' (steps[0]) field 'path' must be a path inside the data root, not a URL",
      ]);
    });

    it('refuses a path with a NUL byte', () => {
      expect(sourceProblems({ path: '/data/a.csv\0.txt' })).toEqual([
        "Step 'source' (steps[0]) field 'path' must not contain NUL bytes",
      ]);
    });

    it('refuses an empty path', () => {
      expect(sourceProblems({ path: '' })).toEqual([
        "Step 'source' (steps[0]) field 'path' must be at least 1 character(s)",
      ]);
    });

    it('accepts names that merely contain dots', () => {
      expect(validateSteps([{ type: 'source', config: { path: '/data/v1..2/a...csv' } }]).ok).toBe(
        true,
      );
      expect(
        validateSteps([{ type: 'source', config: { path: '/data/.hidden/file.csv' } }]).ok,
      ).toBe(true);
    });
  });

  describe('sink steps', () => {
    it.each(['db://people', 'db://a', 'db://Orders_2024-q1', `db://a${'b'.repeat(62)}`])(
      'accepts the target %s',
      (target) => {
        expect(validateSteps([{ type: 'sink', config: { target } }])).toEqual({
          ok: true,
          value: [{ type: 'sink', config: { target } }],
        });
      },
    );

    it.each([
      'db://',
      'db://-leading-dash',
      'db://has space',
      'db://a.b',
      'db://a/b',
      `db://a${'b'.repeat(63)}`,
      'mongodb://host/db',
      'postgres://user:pw@host/db',
      'people',
    ])('refuses the target %s', (target) => {
      expect(sinkProblems({ target })).toEqual([
        "Step 'sink' (steps[0]) field 'target' must look like 'db://<name>' (letters, digits, '-' and '_', at most 63 characters)",
      ]);
    });

    it('accepts a file sink', () => {
      const step = { type: 'sink', config: { path: '/out/result.jsonl', format: 'jsonl' } };
      expect(validateSteps([step])).toEqual({ ok: true, value: [step] });
    });

    it('refuses a file sink outside the data root', () => {
      expect(sinkProblems({ path: '/out/../../etc/cron.d/x' })).toEqual([
        "Step 'sink' (steps[0]) field 'path' must not contain '..' segments",
      ]);
    });

    it('refuses a sink with both target and path', () => {
      expect(sinkProblems({ target: 'db://people', path: '/out/people.csv' })).toEqual([
        "Step 'sink' (steps[0]) must set one of 'target', 'path', not several",
      ]);
    });

    it('refuses a sink with neither target nor path', () => {
      expect(sinkProblems({ format: 'csv' })).toEqual([
        "Step 'sink' (steps[0]) missing required field 'target' (or 'path' for a file sink, 'datasource' for a data source)",
      ]);
    });

    it.each([
      [{ datasource: 'warehouse', table: 'public.orders' }],
      [{ datasource: 'ds_0193', collection: 'events' }],
      [{ datasource: 'lake', object: 'out/items.jsonl', format: 'jsonl' }],
      [{ datasource: 'exports' }],
    ])('accepts a sink that names a data source: %j', (config) => {
      const step = { type: 'sink', config };
      expect(validateSteps([step])).toEqual({ ok: true, value: [step] });
    });

    it('accepts a path under a file data source, and refuses one that climbs out', () => {
      const step = { type: 'sink', config: { datasource: 'exports', path: 'daily/out.csv' } };
      expect(validateSteps([step])).toEqual({ ok: true, value: [step] });
      expect(sinkProblems({ datasource: 'exports', path: '../x.csv' })).toEqual([
        "Step 'sink' (steps[0]) field 'path' must not contain '..' segments",
      ]);
    });

    it('refuses a sink with both a db:// target and a data source', () => {
      expect(sinkProblems({ target: 'db://people', datasource: 'lake' })).toEqual([
        "Step 'sink' (steps[0]) must set one of 'target', 'datasource', not several",
      ]);
    });

    it('refuses driver options smuggled into a data-source sink', () => {
      expect(sinkProblems({ datasource: 'warehouse', table: 't', sslmode: 'disable' })).toEqual([
        "Step 'sink' (steps[0]) has unknown field 'sslmode'",
      ]);
    });

    it('refuses a format on a database sink', () => {
      expect(sinkProblems({ target: 'db://people', format: 'csv' })).toEqual([
        "Step 'sink' (steps[0]) has unknown field 'format'",
      ]);
    });
  });

  describe('sources that name a data source', () => {
    const sourceProblems = (config: object) => {
      const result = validateSteps([{ type: 'source', config }]);
      return result.ok ? [] : result.problems;
    };

    it.each([
      [{ datasource: 'warehouse', table: 'orders', splitKey: 'order_id' }],
      [{ datasource: 'documents', collection: 'events' }],
      [{ datasource: 'lake', object: 'in/data.csv', format: 'csv', csv: { delimiter: ';' } }],
    ])('accepts %j', (config) => {
      const step = { type: 'source', config };
      expect(validateSteps([step])).toEqual({ ok: true, value: [step] });
    });

    it('reads a path under a file data source', () => {
      const step = { type: 'source', config: { datasource: 'inbox', path: 'in/a.csv' } };
      expect(validateSteps([step])).toEqual({ ok: true, value: [step] });
    });

    it('refuses a source with neither', () => {
      expect(sourceProblems({ format: 'csv' })).toEqual([
        "Step 'source' (steps[0]) missing required field 'path' (or 'datasource' to read a data source)",
      ]);
    });

    it('refuses an empty table name and an unknown field, naming both', () => {
      expect(sourceProblems({ datasource: 'warehouse', table: '', where: '1=1' })).toEqual([
        "Step 'source' (steps[0]) field 'table' must be at least 1 character(s)",
        "Step 'source' (steps[0]) has unknown field 'where'",
      ]);
    });
  });

  describe('secrets in rejected values', () => {
    const secret = 'hunter2-secret';

    it.each([
      [
        'an unknown transform config field',
        [source, { type: 'transform', config: { operation: 'uppercase', password: secret } }],
      ],
      [
        'an unknown source config field',
        [{ type: 'source', config: { path: '/in/a.csv', token: secret } }],
      ],
      [
        'a sink target that is a connection string',
        [{ type: 'sink', config: { target: `postgres://admin:${secret}@db/x` } }],
      ],
      [
        'a source path that is a URL with credentials',
        [{ type: 'source', config: { path: `s3://AKIA:${secret}@bucket/a.csv` } }],
      ],
      [
        'a mistyped field',
        [
          source,
          { type: 'transform', config: { operation: 'filter', expression: { raw: secret } } },
        ],
      ],
      [
        'a hash salt that is too long',
        [
          source,
          {
            type: 'transform',
            config: { operation: 'hash', fields: ['a'], salt: secret.repeat(20) },
          },
        ],
      ],
      [
        'a cast type',
        [source, { type: 'transform', config: { operation: 'cast', types: { a: secret } } }],
      ],
    ])('are not echoed for %s', (_label, steps) => {
      const problems = problemsOf(validateSteps(steps));
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('\n')).not.toContain(secret);
      expect(problems.join('\n')).not.toContain('hunter2');
    });
  });
});
