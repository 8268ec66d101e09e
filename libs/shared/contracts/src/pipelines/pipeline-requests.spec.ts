import type { ValidationResult } from './pipeline-definition';
import { validateCreatePipeline, validateUpdatePipeline } from './pipeline-requests';

/** The published API's "Create Pipeline" body, verbatim. */
const SPEC_CREATE_BODY = {
  name: 'MyFakePipeline',
  steps: [
    { type: 'source', config: { path: '/fake/data.csv' } },
    { type: 'transform', config: { operation: 'uppercase' } },
    { type: 'sink', config: { target: 'db://fake-database' } },
  ],
};

/** The published API's "Update Pipeline Configuration" body, verbatim. */
const SPEC_UPDATE_BODY = {
  steps: [{ type: 'transform', config: { operation: 'reverse' } }],
};

function problemsOf<T>(result: ValidationResult<T>): string[] {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.problems;
}

describe('validateCreatePipeline', () => {
  it('accepts the Create Pipeline example verbatim and keeps it unchanged', () => {
    expect(validateCreatePipeline(JSON.parse(JSON.stringify(SPEC_CREATE_BODY)))).toEqual({
      ok: true,
      value: SPEC_CREATE_BODY,
    });
  });

  it('keeps a description', () => {
    const result = validateCreatePipeline({
      ...SPEC_CREATE_BODY,
      description: 'Uppercases the fake data',
    });
    expect(result).toEqual({
      ok: true,
      value: { ...SPEC_CREATE_BODY, description: 'Uppercases the fake data' },
    });
  });

  it('trims the name', () => {
    const result = validateCreatePipeline({ ...SPEC_CREATE_BODY, name: '  MyFakePipeline  ' });
    expect(result.ok && result.value.name).toBe('MyFakePipeline');
  });

  it('refuses the published error case: a transform without operation', () => {
    const body = {
      name: 'MyFakePipeline',
      steps: [
        SPEC_CREATE_BODY.steps[0],
        { type: 'transform', config: {} },
        SPEC_CREATE_BODY.steps[2],
      ],
    };
    expect(problemsOf(validateCreatePipeline(body))).toEqual([
      "Step 'transform' (steps[1]) missing required field 'operation'",
    ]);
  });

  it.each([
    ['null', null],
    ['an array', [SPEC_CREATE_BODY]],
    ['a string', JSON.stringify(SPEC_CREATE_BODY)],
    ['a number', 42],
  ])('refuses a body that is %s', (_label, body) => {
    expect(problemsOf(validateCreatePipeline(body))).toEqual([
      'request body must be a JSON object',
    ]);
  });

  it("refuses a body without 'name'", () => {
    expect(problemsOf(validateCreatePipeline({ steps: SPEC_CREATE_BODY.steps }))).toEqual([
      "missing required field 'name'",
    ]);
  });

  it.each([
    ['a number', 42, "field 'name' must be a string"],
    ['null', null, "field 'name' must be a string"],
    ['an object', { first: 'a' }, "field 'name' must be a string"],
    ['blank', '   ', "field 'name' must be at least 1 character(s)"],
    ['too long', 'n'.repeat(201), "field 'name' must be at most 200 character(s)"],
  ])("refuses a 'name' that is %s", (_label, name, problem) => {
    expect(problemsOf(validateCreatePipeline({ ...SPEC_CREATE_BODY, name }))).toEqual([problem]);
  });

  it("refuses a 'description' that is not a string or too long", () => {
    expect(problemsOf(validateCreatePipeline({ ...SPEC_CREATE_BODY, description: 7 }))).toEqual([
      "field 'description' must be a string",
    ]);
    expect(
      problemsOf(validateCreatePipeline({ ...SPEC_CREATE_BODY, description: 'd'.repeat(2001) })),
    ).toEqual(["field 'description' must be at most 2000 character(s)"]);
  });

  it("refuses a body without 'steps'", () => {
    expect(problemsOf(validateCreatePipeline({ name: 'p' }))).toEqual([
      "missing required field 'steps'",
    ]);
  });

  it("refuses 'steps' that are not an array, or empty", () => {
    expect(problemsOf(validateCreatePipeline({ name: 'p', steps: {} }))).toEqual([
      "field 'steps' must be an array",
    ]);
    expect(problemsOf(validateCreatePipeline({ name: 'p', steps: [] }))).toEqual([
      "field 'steps' must contain at least one step",
    ]);
  });

  it('refuses more than 100 steps', () => {
    const steps = Array.from({ length: 101 }, () => ({
      type: 'transform',
      config: { operation: 'trim' },
    }));
    expect(problemsOf(validateCreatePipeline({ name: 'p', steps }))).toEqual([
      "field 'steps' may contain at most 100 steps",
    ]);
  });

  it('refuses an unknown top-level field, naming it', () => {
    expect(problemsOf(validateCreatePipeline({ ...SPEC_CREATE_BODY, schedule: '@daily' }))).toEqual(
      ["unknown field 'schedule'"],
    );
  });

  it('refuses an unknown config field, naming it', () => {
    const body = {
      name: 'p',
      steps: [{ type: 'transform', config: { operation: 'uppercase', recursive: true } }],
    };
    expect(problemsOf(validateCreatePipeline(body))).toEqual([
      "Step 'transform' (steps[0]) operation 'uppercase' has unknown field 'recursive'",
    ]);
  });

  it('reports every problem of the body at once', () => {
    const problems = problemsOf(
      validateCreatePipeline({ name: 5, owner: 'me', steps: [{ type: 'transform', config: {} }] }),
    );
    expect(problems).toEqual([
      "unknown field 'owner'",
      "field 'name' must be a string",
      "Step 'transform' (steps[0]) missing required field 'operation'",
    ]);
  });

  it('does not echo a secret passed in an unknown config field', () => {
    const body = {
      name: 'p',
      steps: [
        { type: 'source', config: { path: '/in/a.csv', password: 'hunter2-secret' } },
        { type: 'sink', config: { target: 'db://out', apiKey: 'hunter2-secret' } },
      ],
    };
    const problems = problemsOf(validateCreatePipeline(body));
    expect(problems).toEqual([
      "Step 'source' (steps[0]) has unknown field 'password'",
      "Step 'sink' (steps[1]) has unknown field 'apiKey'",
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('does not echo a secret passed in an unknown top-level field or a mistyped name', () => {
    const problems = problemsOf(
      validateCreatePipeline({
        ...SPEC_CREATE_BODY,
        token: 'hunter2-secret',
        name: { value: 'hunter2-secret' },
      }),
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});

describe('validateUpdatePipeline', () => {
  it('accepts the Update Pipeline example verbatim as a patch of the steps only', () => {
    expect(validateUpdatePipeline(JSON.parse(JSON.stringify(SPEC_UPDATE_BODY)))).toEqual({
      ok: true,
      value: SPEC_UPDATE_BODY,
    });
  });

  it('accepts a patch of the name or the description alone', () => {
    expect(validateUpdatePipeline({ name: ' Renamed ' })).toEqual({
      ok: true,
      value: { name: 'Renamed' },
    });
    expect(validateUpdatePipeline({ description: '' })).toEqual({
      ok: true,
      value: { description: '' },
    });
  });

  it('accepts every field together', () => {
    const body = { name: 'n', description: 'd', steps: SPEC_CREATE_BODY.steps };
    expect(validateUpdatePipeline(body)).toEqual({ ok: true, value: body });
  });

  it('refuses an empty patch', () => {
    expect(problemsOf(validateUpdatePipeline({}))).toEqual([
      "request body must set at least one of 'name', 'description', 'steps', 'errorPolicy'",
    ]);
  });

  it('refuses a body that is not an object', () => {
    expect(problemsOf(validateUpdatePipeline([SPEC_UPDATE_BODY]))).toEqual([
      'request body must be a JSON object',
    ]);
  });

  it('refuses invalid steps with the same words as create', () => {
    expect(
      problemsOf(validateUpdatePipeline({ steps: [{ type: 'transform', config: {} }] })),
    ).toEqual(["Step 'transform' (steps[0]) missing required field 'operation'"]);
    expect(problemsOf(validateUpdatePipeline({ steps: [] }))).toEqual([
      "field 'steps' must contain at least one step",
    ]);
    expect(problemsOf(validateUpdatePipeline({ steps: null }))).toEqual([
      "field 'steps' must be an array",
    ]);
  });

  it("refuses a 'name' that is not a string", () => {
    expect(problemsOf(validateUpdatePipeline({ name: 1 }))).toEqual([
      "field 'name' must be a string",
    ]);
  });

  it('refuses an unknown field, even next to a valid one, without echoing its value', () => {
    const problems = problemsOf(
      validateUpdatePipeline({ ...SPEC_UPDATE_BODY, version: 3, secret: 'hunter2-secret' }),
    );
    expect(problems).toEqual(["unknown field 'version', 'secret'"]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
