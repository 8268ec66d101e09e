import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pipeline } from '@cloudflow/contracts';
import { FakeCloudFlow, runCli } from '../testing/cli-harness';

const YAML_PIPELINE = `# The published example, as YAML
name: people-upper
steps:
  - type: source
    config: { path: /fake/data.csv }
  - type: transform
    config: { operation: uppercase }
`;

function pipeline(overrides: Partial<Pipeline> = {}): Pipeline {
  return {
    id: 'pl_0199a3c2-7f1e-7000-8000-000000000001',
    name: 'people-upper',
    steps: [
      { type: 'source', config: { path: '/fake/data.csv' } },
      { type: 'transform', config: { operation: 'uppercase' } },
    ],
    errorPolicy: { mode: 'fail' },
    version: 1,
    createdAt: '2026-01-01T10:00:00.000Z',
    updatedAt: '2026-01-01T10:00:00.000Z',
    ...overrides,
  };
}

function file(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cloudflow-pipelines-')), name);
  writeFileSync(path, content);
  return path;
}

describe('pipelines commands', () => {
  let server: FakeCloudFlow;
  let stored: Pipeline[];

  beforeEach(async () => {
    stored = [];
    server = await new FakeCloudFlow().start();
    // Two pages, so that lookups by name must follow the cursor.
    server.on('GET', '/api/v1/pipelines', (req) =>
      req.query.get('cursor') === 'p2'
        ? { status: 200, body: { items: stored.slice(1), nextCursor: null } }
        : {
            status: 200,
            body: { items: stored.slice(0, 1), nextCursor: stored.length > 1 ? 'p2' : null },
          },
    );
    server.on('POST', '/api/v1/pipelines', (req) => {
      const created = pipeline(JSON.parse(req.body) as Partial<Pipeline>);
      stored.push(created);
      return { status: 201, body: created };
    });
    server.on('PUT', /^\/api\/v1\/pipelines\//, (req) => {
      const current = stored.find((p) => req.path.endsWith(p.id))!;
      Object.assign(current, JSON.parse(req.body), { version: current.version + 1 });
      return { status: 200, body: current };
    });
  });

  afterEach(() => server.stop());

  const cli = (...args: string[]) =>
    runCli(['--url', server.url, ...args], { env: { CLOUDFLOW_API_KEY: 'cfk_test' } });

  it('creates a pipeline from YAML, then updates it from JSON (version + 1), then leaves it be', async () => {
    const created = await cli('pipelines', 'apply', '-f', file('p.yaml', YAML_PIPELINE));
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe(
      "Created pipeline pl_0199a3c2-7f1e-7000-8000-000000000001 'people-upper' (version 1).\n",
    );
    expect(JSON.parse(server.requestsTo('POST', '/api/v1/pipelines')[0]!.body)).toEqual({
      name: 'people-upper',
      steps: [
        { type: 'source', config: { path: '/fake/data.csv' } },
        { type: 'transform', config: { operation: 'uppercase' } },
      ],
    });

    stored[0]!.description = 'old words';
    const json = JSON.stringify({
      name: 'people-upper',
      steps: [{ type: 'transform', config: { operation: 'reverse' } }],
    });
    const updated = await cli('pipelines', 'apply', '-f', file('p.json', json), '--json');
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({
      action: 'updated',
      pipeline: { version: 2 },
    });
    // What the file leaves out is reset, since PUT would keep it.
    expect(JSON.parse(server.requests.find((r) => r.method === 'PUT')!.body)).toEqual({
      name: 'people-upper',
      steps: [{ type: 'transform', config: { operation: 'reverse' } }],
      description: '',
      errorPolicy: { mode: 'fail' },
    });

    stored[0]!.description = '';
    const again = await cli('pipelines', 'apply', '-f', file('p.json', json));
    expect(again.stdout).toContain(
      "Unchanged pipeline pl_0199a3c2-7f1e-7000-8000-000000000001 'people-upper' (version 2).",
    );
  });

  it('finds the pipeline to update on any page, and refuses an ambiguous name', async () => {
    stored.push(pipeline({ id: 'pl_a', name: 'other' }), pipeline({ id: 'pl_b' }));

    const one = await cli(
      'pipelines',
      'apply',
      '-f',
      file('p.yaml', YAML_PIPELINE.replace('uppercase', 'lowercase')),
    );
    expect(one.stdout).toContain("Updated pipeline pl_b 'people-upper' (version 2).");

    stored.push(pipeline({ id: 'pl_c' }));
    const two = await cli('pipelines', 'apply', '-f', file('p.yaml', YAML_PIPELINE));
    expect(two.code).toBe(2);
    expect(two.stderr).toContain("2 pipelines are named 'people-upper' (pl_b, pl_c)");
  });

  it("prints the server's envelope when it refuses a definition", async () => {
    server.on('POST', '/api/v1/pipelines', {
      status: 400,
      body: {
        error: 'Invalid pipeline configuration',
        code: 4001,
        details: "Step 'transform' (steps[1]) missing required field 'operation'",
      },
    });

    const result = await cli('pipelines', 'apply', '-f', file('p.yaml', 'name: x\nsteps: []\n'));

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "error: Invalid pipeline configuration (code 4001)\n  Step 'transform' (steps[1]) missing required field 'operation'\n",
    );
  });

  it('says where a file is not YAML', async () => {
    const result = await cli('pipelines', 'apply', '-f', file('p.yaml', 'name: [unclosed\n'));

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: .*p\.yaml is not valid YAML: /);
    expect(server.requests).toHaveLength(0);
  });

  describe('validate (the server checks, nothing is saved)', () => {
    const refusal = {
      status: 400,
      body: {
        error: 'Invalid pipeline configuration',
        code: 4001,
        details:
          "Step 'transform' (steps[0]) missing required field 'operation'; Step 'sink' (steps[1]) unknown field 'extra'",
      },
    };

    it('sends the file to the validation endpoint and says it is valid', async () => {
      server.on('POST', '/api/v1/pipelines/validate', (req) => ({
        status: 200,
        body: {
          valid: true,
          definition: { ...JSON.parse(req.body), errorPolicy: { mode: 'fail' } },
        },
      }));

      const result = await cli('pipelines', 'validate', '-f', file('p.yaml', YAML_PIPELINE));

      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /\/p\.yaml: valid \(checked by the server; nothing was saved\)\n$/,
      );
      expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'POST /api/v1/pipelines/validate',
      ]);
      expect(JSON.parse(server.requests[0]!.body)).toMatchObject({ name: 'people-upper' });
    });

    it("prints the server's refusal in the envelope's words, one problem a line", async () => {
      server.on('POST', '/api/v1/pipelines/validate', refusal);

      const result = await cli('pipelines', 'validate', '-f', file('bad.yaml', 'name: b\n'));

      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('bad.yaml: the server refuses this pipeline:');
      expect(result.stderr).toContain('error: Invalid pipeline configuration (code 4001)\n');
      expect(result.stderr).toContain(
        "  Step 'transform' (steps[0]) missing required field 'operation'\n",
      );
      expect(result.stderr).toContain("  Step 'sink' (steps[1]) unknown field 'extra'\n");
    });

    it('answers --json with the problems as a list', async () => {
      server.on('POST', '/api/v1/pipelines/validate', refusal);

      const result = await cli(
        'pipelines',
        'validate',
        '-f',
        file('f.yaml', 'name: f\n'),
        '--json',
      );

      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toEqual({
        file: expect.stringMatching(/\/f\.yaml$/),
        valid: false,
        problems: [
          "Step 'transform' (steps[0]) missing required field 'operation'",
          "Step 'sink' (steps[1]) unknown field 'extra'",
        ],
      });
    });
  });

  it('lists pipelines cut to the terminal, ids whole', async () => {
    stored.push(pipeline(), pipeline({ id: 'pl_2', name: 'n'.repeat(120), version: 3 }));
    const list = (columns: number) =>
      runCli(['--url', server.url, 'pipelines', 'list'], {
        env: { CLOUDFLOW_API_KEY: 'cfk_test' },
        terminal: { columns },
      }).then((r) => r.stdout.trimEnd().split('\n'));

    const wide = await list(160);
    expect(wide[0]).toMatch(/^ID +NAME +VERSION +STEPS +UPDATED$/);
    expect(wide[1]).toMatch(
      /^pl_0199a3c2-7f1e-7000-8000-000000000001 +people-upper +1 +source → uppercase +2026-01-01 10:00:00$/,
    );
    expect(wide[2]).toContain('nnn…');

    const narrow = await list(80);
    for (const line of narrow) expect([...line].length).toBeLessThanOrEqual(80);
    expect(narrow[0]).toMatch(/^ID +NAME +VERSION +STEPS +UPDATED$/);
    expect(narrow[1]).toMatch(/^pl_0199a3c2-7f1e-7000-8000-000000000001 +people-… +1 +source →…/);
  });

  it('gets and deletes by name', async () => {
    stored.push(pipeline());
    server.on('DELETE', `/api/v1/pipelines/${stored[0]!.id}`, { status: 204 });

    const got = await cli('pipelines', 'get', 'people-upper');
    expect(got.stdout).toMatch(/Name: +people-upper/);
    expect(got.stdout).toMatch(/1\. source: +\{"path":"\/fake\/data.csv"\}/);

    const deleted = await cli('pipelines', 'delete', 'people-upper');
    expect(deleted.stdout).toBe(
      "Deleted pipeline pl_0199a3c2-7f1e-7000-8000-000000000001 'people-upper'.\n",
    );

    const missing = await cli('pipelines', 'get', 'nobody');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no pipeline is named 'nobody'");
  });
});
