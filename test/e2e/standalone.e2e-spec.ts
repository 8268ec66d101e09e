import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, Pipeline } from '@cloudflow/contracts';
import { ApiClient, REPO_ROOT, ServiceProcess, freePort, uniqueName } from '@cloudflow/testing';
import { waitForJob } from './support/jobs';
import { eventually } from './support/stack';

const UPPERCASED = [
  'ADA LOVELACE',
  'GRACE HOPPER',
  'ALAN TURING',
  'KATHERINE JOHNSON',
  'EDSGER DIJKSTRA',
  'MARGARET HAMILTON',
  'LINUS TORVALDS',
  'BARBARA LISKOV',
];

/** The environment of a laptop with nothing but Node: no Kafka, no MongoDB. */
function bareEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
  for (const name of ['npm_config_cache', 'LANG', 'TERM']) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return { ...env, ...extra };
}

describe('Standalone mode (one process, in-process transport, embedded store)', () => {
  it('keeps pipelines, jobs, results and the admin key across a restart', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cloudflow-home-'));
    const logDir = join(REPO_ROOT, 'tmp/e2e-logs', uniqueName('standalone'));
    execFileSync('mkdir', ['-p', logDir]);
    const port = await freePort();
    const start = (instance: string, extra: NodeJS.ProcessEnv = {}) => {
      const server = new ServiceProcess({
        name: 'gateway',
        port,
        // No bootstrap key given: standalone mode makes one and keeps it.
        env: bareEnv({ CLOUDFLOW_HOME: home, LOG_LEVEL: 'info', ...extra }),
        logDir,
        instance,
        entry: 'dist/apps/standalone/src/main.js',
      });
      server.start();
      return server;
    };
    const keyOf = (server: ServiceProcess) => {
      const line = server
        .logLines()
        .map((l) => String(l['raw'] ?? ''))
        .find((l) => l.includes('API key:'));
      return line?.split('API key:')[1]?.trim();
    };
    try {
      const first = start('first');
      await first.waitReady();
      await eventually(async () => keyOf(first) !== undefined, 10_000);
      const key = keyOf(first)!;
      expect(key).toMatch(/^cfk_[\w-]{32}$/);
      expect(statSync(join(home, 'admin-api-key')).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, 'secret.key')).mode & 0o777).toBe(0o600);

      // Listening on this machine only, it serves /metrics next to the API.
      expect((await fetch(`${first.baseUrl}/metrics`)).status).toBe(200);
      const api = new ApiClient(first.baseUrl, `ApiKey ${key}`);
      const pipeline = (
        await api.post<Pipeline>('/api/v1/pipelines', {
          name: 'survives-restarts',
          steps: [
            { type: 'source', config: { path: '/fake/data.csv' } },
            { type: 'transform', config: { operation: 'uppercase' } },
            { type: 'sink', config: { target: 'db://fake-database' } },
          ],
        })
      ).body;
      const submitted = await api.post<Job>('/api/v1/jobs', { pipelineId: pipeline.id });
      expect(submitted.status).toBe(202);
      const done = await waitForJob(api, submitted.body.jobId);
      expect(done.status).toBe('SUCCEEDED');
      const results = (
        await api.get<{ rows: Record<string, string>[] }>(`/api/v1/jobs/${done.jobId}/results`)
      ).body;
      expect(await first.stop('SIGTERM')).toBe(0);

      // Listening on every interface this time: /metrics is not served unless asked for.
      const second = start('second', { HOST: '0.0.0.0' });
      await second.waitReady();
      expect((await fetch(`${second.baseUrl}/metrics`)).status).toBe(404);
      await eventually(async () => keyOf(second) !== undefined, 10_000);
      expect(keyOf(second)).toBe(key);
      const again = new ApiClient(second.baseUrl, `ApiKey ${key}`);
      expect((await again.get<Pipeline>(`/api/v1/pipelines/${pipeline.id}`)).body).toEqual(
        pipeline,
      );
      expect((await again.get<Job>(`/api/v1/jobs/${done.jobId}/status`)).body).toEqual(done);
      const kept = await again.get<{ rows: Record<string, string>[] }>(
        `/api/v1/jobs/${done.jobId}/results`,
      );
      expect(kept.body).toEqual(results);
      expect(kept.body.rows.map((r) => r['name'])).toEqual(UPPERCASED);
      // And it still works: a new job on the restarted process.
      const rerun = await again.post<Job>('/api/v1/jobs', { pipelineId: pipeline.id });
      expect((await waitForJob(again, rerun.body.jobId)).status).toBe('SUCCEEDED');
      expect(await second.stop('SIGTERM')).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('the README’s first command, on a fresh clone with no KAFKA_BROKERS or MONGO_URL, prints SUCCEEDED and the uppercased rows', async () => {
    const clone = mkdtempSync(join(tmpdir(), 'cloudflow-clone-'));
    const home = mkdtempSync(join(tmpdir(), 'cloudflow-home-'));
    try {
      execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);
      const port = await freePort();
      const started = Date.now();
      const child = spawn('npm', ['start'], {
        cwd: clone,
        env: bareEnv({ CLOUDFLOW_HOME: home, PORT: String(port) }),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        await eventually(async () => output.includes('press Ctrl-C to stop'), 240_000, 500);
      } finally {
        // The whole group: npm, the start script and the server.
        process.kill(-child.pid!, 'SIGTERM');
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`README first command on a fresh clone: ready in ${seconds} s\n`);
      expect(output).toMatch(/job job_[\w-]+: SUCCEEDED/);
      const rows = output
        .split('\n')
        .filter((l) => l.startsWith('{"id"'))
        .map((l) => (JSON.parse(l) as { name: string }).name);
      expect(rows).toEqual(UPPERCASED);
      expect(output).toMatch(/API key:\s+cfk_/);
      expect(output).not.toMatch(/KAFKA_BROKERS|MONGO_URL/);
    } finally {
      rmSync(clone, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);
});
