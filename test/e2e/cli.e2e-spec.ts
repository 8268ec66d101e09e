import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreatedApiKey, Job, Page, Pipeline } from '@cloudflow/contracts';
import { REPO_ROOT, freePort } from '@cloudflow/testing';
import { Browser, createUser, interactionOf, registerClient } from './support/oauth';
import { EXPECTED_UPPER, FAKE_CSV } from './support/jobs';
import { SPEC_API_KEY, STACK_MODE, Stack, eventually } from './support/stack';

const BIN = join(REPO_ROOT, 'bin', 'cloudflow.js');

/** What `results --format csv` must print for EXPECTED_UPPER, byte for byte. */
const EXPECTED_CSV = [
  'id,name,city,amount',
  '1,ADA LOVELACE,LONDON,120.50',
  '2,"HOPPER, GRACE",NEW YORK,98.00',
  '3,ALAN TURING,"MANCHESTER',
  'UK",250.75',
  '4,JOSÉ MÜLLER,SÃO PAULO,75.25',
  '5,ÜNAL ŞAHIN,İZMIR,310.00',
  '',
].join('\n');

const PASSWORD = 'correct horse battery staple';
const ESC = '\u001b';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Single quotes for sh, so that `script -c` runs exactly these arguments. */
const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * The real `cloudflow` binary as a child process, with a config home of its
 * own and none of this process's CloudFlow variables.
 */
function cloudflow(
  args: string[],
  options: {
    configHome: string;
    env?: NodeJS.ProcessEnv;
    /** Under a pseudo-terminal made by util-linux `script`. */
    pty?: boolean;
    /** Called with stderr as it grows (the OAuth login prints a URL to open). */
    onStderr?: (text: string) => void;
  },
): Promise<Run> {
  const env = {
    PATH: process.env['PATH'],
    HOME: options.configHome,
    XDG_CONFIG_HOME: options.configHome,
    ...options.env,
  };
  const argv = [process.execPath, BIN, ...args];
  const child = options.pty
    ? spawn('script', ['-qefc', argv.map(shellQuote).join(' '), '/dev/null'], { env })
    : spawn(argv[0]!, argv.slice(1), { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onStderr?.(stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cloudflow-cli-e2e-')), name);
  writeFileSync(path, content);
  return path;
}

/** A CSV large enough to be several tasks (TASK_TARGET_BYTES below), so that a bar has work to show. */
function bigCsv(rows: number): string {
  const lines = ['id,name,email,city'];
  for (let i = 1; i <= rows; i++) {
    lines.push(`${i},person number ${i},person${i}@example.com,city ${i % 97}`);
  }
  return `${lines.join('\n')}\n`;
}

describe(`cloudflow CLI against the ${STACK_MODE} stack`, () => {
  let stack: Stack;
  let url: string;
  /** The config home of the API-key login most tests use. */
  let home: string;

  beforeAll(async () => {
    stack = await Stack.start({ TASK_TARGET_BYTES: String(64 * 1024) });
    url = stack.gateway.baseUrl;
    home = mkdtempSync(join(tmpdir(), 'cloudflow-cli-home-'));
    stack.writeData('fake/data.csv', FAKE_CSV);
    stack.writeData('big/people.csv', bigCsv(60_000));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const cli = (args: string[], env?: NodeJS.ProcessEnv) =>
    cloudflow(['--url', url, ...args], { configHome: home, env });

  const pipelineNamed = async (name: string): Promise<Pipeline | undefined> => {
    const res = await stack.api().get<Page<Pipeline>>('/api/v1/pipelines?limit=100');
    return res.body.items.find((p) => p.name === name);
  };

  const apply = async (file: string) => {
    const run = await cli(['pipelines', 'apply', '-f', file]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return run;
  };

  it('logs in with the API key (saved 0600), then whoami proves it works', async () => {
    const login = await cli(['login', '--api-key', SPEC_API_KEY]);
    expect(login).toMatchObject({ code: 0, stderr: '' });
    expect(login.stdout).toContain(`Logged in to ${url} (workspace `);
    expect(statSync(join(home, 'cloudflow', 'config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'cloudflow')).mode & 0o777).toBe(0o700);

    const whoami = await cli(['whoami']);
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toMatch(new RegExp(`Server: +${url}`));
    expect(whoami.stdout).toMatch(/Credential: +API key FAKE-API…/);
    expect(whoami.stdout).toMatch(/Workspace: +\S+ \(ws_/);
    expect(whoami.stdout).not.toContain(SPEC_API_KEY);

    const json = await cli(['whoami', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      url,
      credential: { kind: 'api-key', source: 'config' },
      workspace: { id: expect.stringMatching(/^ws_/) },
    });
  });

  it('applies a YAML pipeline, updates it, and applies a JSON one', async () => {
    const yaml = (operation: string) =>
      tempFile(
        'cli-upper.yaml',
        `# people, upper-cased into the result store
name: cli-upper
steps:
  - type: source
    config:
      path: /fake/data.csv
  - type: transform
    config: { operation: ${operation} }
`,
      );
    const created = await apply(yaml('lowercase'));
    const first = await pipelineNamed('cli-upper');
    expect(created.stdout).toBe(`Created pipeline ${first?.id} 'cli-upper' (version 1).\n`);

    const updated = await apply(yaml('uppercase'));
    expect(updated.stdout).toBe(`Updated pipeline ${first?.id} 'cli-upper' (version 2).\n`);
    expect((await pipelineNamed('cli-upper'))?.steps[1]).toEqual({
      type: 'transform',
      config: { operation: 'uppercase' },
    });

    const json = await cli([
      'pipelines',
      'apply',
      '--json',
      '-f',
      tempFile(
        'cli-json.json',
        JSON.stringify({
          name: 'cli-json',
          steps: [
            { type: 'source', config: { path: '/fake/data.csv' } },
            { type: 'transform', config: { operation: 'reverse' } },
          ],
        }),
      ),
    ]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { action: string; pipeline: Pipeline };
    expect(doc).toMatchObject({ action: 'created', pipeline: { name: 'cli-json', version: 1 } });
    expect((await pipelineNamed('cli-json'))?.id).toBe(doc.pipeline.id);

    const list = await cli(['pipelines', 'list']);
    expect(list.stdout).toMatch(/^ID +NAME +VERSION +STEPS +UPDATED\n/);
    expect(list.stdout).toMatch(/ cli-upper +2 +source → uppercase /);
  });

  it('validates a bad file: non-zero exit, the envelope message, nothing saved', async () => {
    const before = (await stack.api().get<Page<Pipeline>>('/api/v1/pipelines?limit=100')).body;
    const bad = tempFile(
      'bad.yaml',
      'name: cli-bad\nsteps:\n  - type: source\n    config: { path: /fake/data.csv }\n  - type: transform\n    config: {}\n',
    );

    const run = await cli(['pipelines', 'validate', '-f', bad]);

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('error: Invalid pipeline configuration (code 4001)\n');
    expect(run.stderr).toContain(
      "  Step 'transform' (steps[1]) missing required field 'operation'",
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const after = (await stack.api().get<Page<Pipeline>>('/api/v1/pipelines?limit=100')).body;
    expect(after.items.map((p) => p.id)).toEqual(before.items.map((p) => p.id));
    expect(await pipelineNamed('cli-bad')).toBeUndefined();

    const good = await cli([
      'pipelines',
      'validate',
      '-f',
      tempFile('good.yaml', 'name: g\nsteps: [{ type: transform, config: { operation: trim } }]\n'),
    ]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('valid (checked by the server; nothing was saved)');
  });

  it('submits and watches under a terminal: the bar is redrawn in place, ends SUCCEEDED, exit 0', async () => {
    await apply(
      tempFile(
        'big.yaml',
        'name: cli-big\nsteps:\n  - { type: source, config: { path: /big/people.csv } }\n  - { type: transform, config: { operation: uppercase } }\n  - { type: sink, config: { path: /out/big-upper.csv } }\n',
      ),
    );

    const run = await cloudflow(
      ['--url', url, 'jobs', 'submit', '--pipeline', 'cli-big', '--watch', '--interval', '0.2'],
      { configHome: home, pty: true },
    );

    expect(run.code).toBe(0);
    const out = run.stdout;
    // Each redraw: to column 1, the line, erase to its end — on one line, never a new one.
    const redraws = out.split(`${ESC}[1G`).length - 1;
    expect(redraws).toBeGreaterThanOrEqual(2);
    expect(out).toContain(`${ESC}[0K`);
    expect(out).toMatch(/(QUEUED|RUNNING) +\[[█░]{20}\] +(\?|\d+)% \| [\d,]+ rows \| /);
    expect(out).toMatch(/SUCCEEDED +\[█{20}\] 100% \| 60,000 rows \| .* \| tasks (\d+)\/\1/);
    const last = out.trimEnd().split(/\r?\n/);
    expect(last.at(-2)).toMatch(/^SUCCEEDED job job_\S+ in \S+: 60,000 rows read, 60,000 written/);
    expect(last.at(-1)).toBe('output: /out/big-upper.csv (in the data root)');
    expect(stack.readData('out/big-upper.csv').split('\n')[1]).toBe(
      '1,PERSON NUMBER 1,PERSON1@EXAMPLE.COM,CITY 1',
    );
  });

  let jobId: string;

  it('watches with plain lines when stdout is not a terminal', async () => {
    const run = await cli([
      'jobs',
      'submit',
      '--pipeline',
      'cli-upper',
      '--watch',
      '--interval',
      '0.2',
    ]);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).not.toContain(ESC);
    const lines = run.stdout.trimEnd().split('\n');
    jobId = /^Submitted job (job_\S+) /.exec(lines[0] ?? '')?.[1] ?? '';
    expect(jobId).toMatch(/^job_/);
    for (const line of lines.slice(1, -2)) {
      expect(line).toMatch(/^(QUEUED|RUNNING|SUCCEEDED) (\?|\d+)% \| [\d,]+ rows \| .* \| tasks /);
    }
    expect(lines.at(-2)).toMatch(
      new RegExp(`^SUCCEEDED job ${jobId} in \\S+: 5 rows read, 5 written, 0 rejected$`),
    );
    expect(lines.at(-1)).toBe(`results: cloudflow results ${jobId}`);
  });

  it("exits non-zero with the job's error message when the job fails", async () => {
    stack.writeData('fake/broken.csv', 'id,name,city,amount\n1,Ada,London,1\n2,Grace\n');

    const run = await cli([
      'jobs',
      'submit',
      '--pipeline',
      'cli-upper',
      '--input',
      '/fake/broken.csv',
      '--watch',
      '--interval',
      '0.2',
    ]);

    expect(run.code).toBe(1);
    const failedId = /Submitted job (job_\S+) /.exec(run.stdout)?.[1];
    const job = (await stack.api().get<Job>(`/api/v1/jobs/${failedId}`)).body;
    expect(job.status).toBe('FAILED');
    expect(job.error?.message).toBeTruthy();
    expect(run.stdout).toContain(`FAILED job ${failedId}`);
    expect(run.stderr).toContain(`error: ${job.error?.message}\n`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints results as a table, as exact CSV and as JSON', async () => {
    const table = await cli(['results', jobId]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id +name +city +amount$/);
    expect(lines[1]).toMatch(/^1 +ADA LOVELACE +LONDON +120\.50$/);
    expect(lines[3]).toMatch(/^3 +ALAN TURING +MANCHESTER\\nUK +250\.75$/);
    expect(lines).toHaveLength(6);

    const csv = await cli(['results', jobId, '--format', 'csv']);
    expect(csv).toMatchObject({ code: 0, stderr: '' });
    expect(csv.stdout).toBe(EXPECTED_CSV);

    const json = await cli(['results', jobId, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(EXPECTED_UPPER);

    const two = await cli(['results', jobId, '--format', 'jsonl', '--limit', '2']);
    expect(
      two.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual(EXPECTED_UPPER.slice(0, 2));
  });

  it('creates, lists, tests and deletes a file data source', async () => {
    stack.writeData('fake/people.csv', 'id,name\n1,Ada\n2,Grace\n');

    const created = await cli([
      'datasources',
      'create',
      '--type',
      'file',
      '--connection-string',
      '/fake/people.csv',
      '--name',
      'cli-people',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const source = JSON.parse(created.stdout) as { id: string; connectionString: string };
    expect(source.connectionString).toBe('file:///fake/people.csv');

    const list = await cli(['datasources', 'list']);
    expect(list.stdout).toMatch(
      new RegExp(`${source.id} +cli-people +file +file:///fake/people.csv`),
    );

    const test = await cli(['datasources', 'test', 'cli-people']);
    expect(test.code).toBe(0);
    expect(test.stdout).toContain('OK (file):');

    const deleted = await cli(['datasources', 'delete', source.id]);
    expect(deleted.stdout).toBe(`Deleted data source ${source.id} 'cli-people'.\n`);
    expect((await cli(['datasources', 'list'])).stdout).not.toContain(source.id);
  });

  it('creates, lists and revokes an API key; the revoked key is then refused', async () => {
    const created = await cli(['api-keys', 'create', '--name', 'cli e2e', '--json']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as CreatedApiKey;
    expect(key.key).toMatch(/^cfk_/);

    const list = await cli(['api-keys', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${key.id} +cli e2e +${key.prefix}…`));
    expect(list.stdout).not.toContain(key.key);

    const asKey = await cli(['whoami'], { CLOUDFLOW_API_KEY: key.key });
    expect(asKey.code).toBe(0);
    expect(asKey.stdout).toMatch(/From: +CLOUDFLOW_API_KEY/);

    const revoked = await cli(['api-keys', 'revoke', key.id]);
    expect(revoked.stdout).toBe(`Revoked API key ${key.id}.\n`);
    let refused: Run | undefined;
    // Gateways trust a verified key for up to AUTH_CACHE_TTL_MS (2 s).
    await eventually(async () => {
      refused = await cli(['whoami'], { CLOUDFLOW_API_KEY: key.key });
      return refused.code !== 0;
    }, 15_000);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/^error: Unauthorized \(code 4010\)\n {2}\S.*\n$/);
  });

  it('says in one line which URL it cannot reach', async () => {
    const port = await freePort();

    const run = await cloudflow(['--url', `http://127.0.0.1:${port}`, 'whoami'], {
      configHome: home,
      env: { CLOUDFLOW_API_KEY: SPEC_API_KEY },
    });

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: cannot reach http://127.0.0.1:${port}/api/v1/workspaces/current: connection refused (is CloudFlow running there? see --url)\n`,
    );
  });

  it('logs in through the browser (OAuth, loopback redirect on any port), then whoami with the Bearer token', async () => {
    const admin = stack.api();
    const user = await createUser(admin, 'cli-ada', PASSWORD);
    const client = await registerClient(admin, {
      name: 'cloudflow CLI',
      type: 'public',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const oauthHome = mkdtempSync(join(tmpdir(), 'cloudflow-cli-oauth-'));
    const browser = new Browser(url);
    let signIn: Promise<void> | undefined;

    const login = await cloudflow(
      [
        '--url',
        url,
        'login',
        '--oauth',
        '--client-id',
        client.id,
        '--no-browser',
        '--timeout',
        '60',
      ],
      {
        configHome: oauthHome,
        onStderr: (text) => {
          const printed = /(http:\/\/\S+\/auth\/authorize\?\S+)/.exec(text)?.[1];
          if (!printed || signIn) return;
          // The person at the browser: open the URL, sign in, approve, follow the redirect.
          signIn = (async () => {
            const authorize = new URL(printed);
            expect(authorize.searchParams.get('redirect_uri')).toMatch(
              /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
            );
            const page = await browser.get(`${authorize.pathname}${authorize.search}`);
            expect(page.status).toBe(200);
            const consent = await browser.postForm('/auth/login', {
              interaction: interactionOf(page.text),
              username: 'cli-ada',
              password: PASSWORD,
            });
            expect(consent.status).toBe(200);
            const approved = await browser.postForm('/auth/consent', {
              interaction: interactionOf(consent.text),
              decision: 'approve',
            });
            expect(approved.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);
            const back = await fetch(approved.location!);
            expect(back.status).toBe(200);
          })();
          // Awaited below, once the login has ended; until then a failure must not go unhandled.
          signIn.catch(() => undefined);
        },
      },
    );
    await signIn;

    expect(login.stderr).toContain('Open this URL in a browser to sign in to CloudFlow');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`Logged in to ${url} (workspace `);
    expect(login.stdout).toContain(`with OAuth user token (${user.id}, client ${client.id}`);
    const saved = JSON.parse(readFileSync(join(oauthHome, 'cloudflow', 'config.json'), 'utf8')) as {
      profiles: Record<string, { credential: { kind: string; refreshToken?: string } }>;
    };
    expect(saved.profiles['default']?.credential).toMatchObject({
      kind: 'oauth',
      refreshToken: expect.stringMatching(/^cfr_/),
    });

    const whoami = await cloudflow(['--url', url, 'whoami', '--json'], { configHome: oauthHome });
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      url,
      credential: { kind: 'oauth', clientId: client.id, subject: user.id, source: 'config' },
    });
    // The token works for the API, not only for whoami.
    const list = await cloudflow(['--url', url, 'pipelines', 'list', '--json'], {
      configHome: oauthHome,
    });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as Pipeline[]).map((p) => p.name)).toContain('cli-upper');
  });
});
