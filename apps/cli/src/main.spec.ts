import { FakeCloudFlow, runCli } from './testing/cli-harness';

describe('cloudflow', () => {
  it('prints its version and help, exit 0', async () => {
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });

    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of [
      'start',
      'login',
      'logout',
      'whoami',
      'pipelines',
      'jobs',
      'results',
      'datasources',
      'api-keys',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(help.stdout).toContain('Exit codes: 0 done, 1 refused or failed');

    const jobsHelp = await runCli(['jobs', 'submit', '--help']);
    expect(jobsHelp.stdout).toContain('--pipeline <pipeline>');
    expect(jobsHelp.stdout).toContain('Global Options:');
  });

  it('answers wrong usage with a message and exit 2', async () => {
    const unknown = await runCli(['pipelines', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'frobnicate'");

    const missing = await runCli(['pipelines', 'apply']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: required option '-f, --file <path>' not specified");

    const badUrl = await runCli(['--url', 'localhost:8080', 'whoami']);
    expect(badUrl).toMatchObject({
      code: 2,
      stderr: "error: 'localhost:8080' is not an http:// or https:// URL\n",
    });
  });

  it('names the URL it cannot reach, in one line', async () => {
    const server = await new FakeCloudFlow().start();
    const url = server.url;
    await server.stop();

    const result = await runCli(['--url', url, 'pipelines', 'list'], {
      env: { CLOUDFLOW_API_KEY: 'k' },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: cannot reach ${url}/api/v1/pipelines?limit=100: connection refused (is CloudFlow running there? see --url)\n`,
    );
  });

  it('prints retry_after when rate limited', async () => {
    const server = await new FakeCloudFlow().start();
    server.on('GET', '/api/v1/pipelines', {
      status: 429,
      body: {
        error: 'Rate limit exceeded',
        retry_after: 42,
        code: 4290,
        details: 'the quota is 600 requests per 60 s',
      },
      headers: { 'Retry-After': '42' },
    });
    try {
      const result = await runCli(['--url', server.url, 'pipelines', 'list'], {
        env: { CLOUDFLOW_API_KEY: 'k' },
      });

      expect(result).toMatchObject({
        code: 1,
        stderr:
          'error: Rate limit exceeded (code 4290)\n  the quota is 600 requests per 60 s\n  retry after 42 s\n',
      });
    } finally {
      await server.stop();
    }
  });

  it('says in one line when an answer is not what it understands', async () => {
    const server = await new FakeCloudFlow().start();
    server.on('GET', '/api/v1/jobs/job_1/status', { status: 200, body: { jobId: 'job_1' } });
    try {
      const result = await runCli(['--url', server.url, 'jobs', 'status', 'job_1'], {
        env: { CLOUDFLOW_API_KEY: 'k' },
      });

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error: the server's job status is not what this cloudflow understands at status: .*\n$/,
      );
    } finally {
      await server.stop();
    }
  });

  it('shows an unexpected failure in one line, its stack only with CLOUDFLOW_DEBUG=1', async () => {
    const server = await new FakeCloudFlow().start();
    // A pipeline without steps: the CLI trusts pipeline answers, and trips over this one.
    server.on('GET', '/api/v1/pipelines/pl_1', { status: 200, body: { id: 'pl_1', name: 'x' } });
    try {
      const args = ['--url', server.url, 'pipelines', 'get', 'pl_1'];
      const quiet = await runCli(args, { env: { CLOUDFLOW_API_KEY: 'k' } });
      expect(quiet.code).toBe(1);
      expect(quiet.stderr).toMatch(/^error: unexpected: .*\(CLOUDFLOW_DEBUG=1 shows more\)\n$/);

      const loud = await runCli(args, { env: { CLOUDFLOW_API_KEY: 'k', CLOUDFLOW_DEBUG: '1' } });
      expect(loud.stderr).toMatch(/\n +at /);
    } finally {
      await server.stop();
    }
  });
});
