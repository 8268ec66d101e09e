// The container image's entry logic, without Docker: deploy/image/entrypoint.sh and
// healthcheck.js run from a copy of the image's /app layout (dist/, tools/node-options.json,
// samples/data, deploy/image), with node_modules found up the tree as in the image. Also the
// production install the image ships: every package the services load must survive
// `npm ci --omit=dev`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT, SERVICE_NAMES } from '@cloudflow/testing';

/** The image's /app, laid out under tmp/ (the build writes only to dist/ or tmp/). */
const APP = join(REPO_ROOT, 'tmp', `deploy-image-${process.pid}`);
const ENTRYPOINT = join(APP, 'deploy/image/entrypoint.sh');
const HEALTHCHECK = join(APP, 'deploy/image/healthcheck.js');

/** What a container starts with: no Kafka, no MongoDB, nothing of this shell's. */
function imageEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    NODE_ENV: 'production',
    HOST: '0.0.0.0',
    PORT: '8080',
    CLOUDFLOW_DATA_DIR: '/data',
    ...extra,
  };
}

function entry(args: string[], env: NodeJS.ProcessEnv = imageEnv()) {
  return spawnSync('sh', [ENTRYPOINT, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

/** The exit code, once the process has ended and its output is read; call it right after spawn. */
function closed(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs the healthcheck as the image's HEALTHCHECK does, with the container's PORT. */
async function healthcheck(port: number, path?: string, host = '0.0.0.0') {
  const child = spawn('node', [HEALTHCHECK, ...(path ? [path] : [])], {
    env: imageEnv({ PORT: String(port), HOST: host }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exit = closed(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { code: await exit, stderr };
}

beforeAll(() => {
  // dist/ exactly as the image's build stage makes it (npm run build = tools/build.mjs).
  const build = spawnSync('node', ['tools/build.mjs', relative(REPO_ROOT, join(APP, 'dist'))], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
  // The rest of what deploy/Dockerfile copies into /app.
  mkdirSync(join(APP, 'tools'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'tools/node-options.json'), join(APP, 'tools/node-options.json'));
  cpSync(join(REPO_ROOT, 'samples/data'), join(APP, 'samples/data'), { recursive: true });
  cpSync(join(REPO_ROOT, 'deploy/image'), join(APP, 'deploy/image'), { recursive: true });
}, 120_000);

afterAll(() => rmSync(APP, { recursive: true, force: true }));

describe('entrypoint.sh: which service runs', () => {
  it('refuses an unknown service name with exit 2, naming it and the valid ones', () => {
    const run = entry(['gatewya']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown service 'gatewya'");
    for (const name of SERVICE_NAMES) expect(run.stderr).toContain(name);
  });

  it('refuses to start without a service name (exit 2)', () => {
    const run = entry([]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('name the service to run');
  });

  it.each(SERVICE_NAMES)(
    'starts %s, which checks its configuration: exit 78 naming KAFKA_BROKERS and MONGO_URL',
    (name) => {
      const run = entry([name]);
      expect(run.status).toBe(78);
      expect(run.stderr).toContain(`cloudflow-${name}: Invalid configuration`);
      expect(run.stderr).toContain('KAFKA_BROKERS');
      expect(run.stderr).toContain('MONGO_URL');
    },
    60_000,
  );
});

describe('entrypoint.sh: how node is started', () => {
  // Loaded into every node the script starts (NODE_OPTIONS): in the service's process it
  // reports how that process was started and stops it before the service starts.
  let probe: string;
  beforeAll(() => {
    probe = join(APP, 'probe.js');
    writeFileSync(
      probe,
      `if (/main\\.js$/.test(process.argv[1] || '')) {
        process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv,
          main: process.argv[1], home: process.env.CLOUDFLOW_HOME,
          dataDir: process.env.CLOUDFLOW_DATA_DIR }));
        process.exit(0);
      }`,
    );
  });

  async function startedAs(args: string[], extra: NodeJS.ProcessEnv = {}) {
    const child = spawn('sh', [ENTRYPOINT, ...args], {
      env: imageEnv({ NODE_OPTIONS: `--require ${probe}`, ...extra }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exit = closed(child);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    expect(await exit).toBe(0);
    return {
      shellPid: child.pid,
      ...(JSON.parse(stdout) as {
        pid: number;
        execArgv: string[];
        main: string;
        home?: string;
        dataDir?: string;
      }),
    };
  }

  it('replaces the shell with node (exec), so SIGTERM reaches the service as PID 1', async () => {
    const started = await startedAs(['gateway']);
    expect(started.pid).toBe(started.shellPid);
    expect(started.main).toBe(join(APP, 'dist/services/gateway/src/main.js'));
    expect(started.execArgv).toContain('--enable-source-maps');
    expect(started.execArgv.some((a) => a.startsWith('--max-old-space-size'))).toBe(false);
  });

  it("caps the worker's heap with the flags of tools/node-options.json", async () => {
    const flags = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'tools/node-options.json'), 'utf8')) as {
        worker: string[];
      }
    ).worker;
    expect(flags).toContain('--max-old-space-size=256');
    const started = await startedAs(['worker']);
    expect(started.main).toBe(join(APP, 'dist/services/worker/src/main.js'));
    expect(started.execArgv).toEqual(expect.arrayContaining(flags));
  });

  it('keeps standalone mode’s keys out of the data root: home /data, data root /data/data', async () => {
    const byDefault = await startedAs(['standalone']);
    expect(byDefault.main).toBe(join(APP, 'dist/apps/standalone/src/main.js'));
    expect(byDefault).toMatchObject({ home: '/data', dataDir: '/data/data' });
    const chosen = await startedAs(['standalone'], { CLOUDFLOW_HOME: '/srv/cloudflow' });
    expect(chosen).toMatchObject({ home: '/srv/cloudflow', dataDir: '/data' });
  });
});

describe('the image running standalone mode', () => {
  it('answers the HEALTHCHECK, then drains and exits 0 on SIGTERM', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cloudflow-image-'));
    const port = await freePort();
    // CLOUDFLOW_DATA_DIR equal to the home, as /data is in the image: the data root moves below.
    const child = spawn('sh', [ENTRYPOINT, 'standalone'], {
      env: imageEnv({
        CLOUDFLOW_HOME: home,
        CLOUDFLOW_DATA_DIR: home,
        PORT: String(port),
        HOST: '127.0.0.1',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: whatever it started can be stopped in one go, whatever happens.
      detached: true,
    });
    const exit = closed(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('press Ctrl-C to stop')) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`standalone did not start:\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await healthcheck(port, undefined, '127.0.0.1')).toMatchObject({ code: 0 });
      expect(await healthcheck(port, '/readyz', '127.0.0.1')).toMatchObject({ code: 0 });
      // The sample input was seeded into the data root below the home.
      expect(existsSync(join(home, 'data/fake/data.csv'))).toBe(true);
      child.kill('SIGTERM');
      const late = new Promise<string>((r) =>
        setTimeout(() => r('still running after 30 s'), 30_000).unref(),
      );
      expect(await Promise.race([exit, late])).toBe(0);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('healthcheck.js', () => {
  let server: Server;
  let status = 200;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' || req.url === '/readyz' ? status : 404;
      res.end('{}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  it('exits 0 on 200 from /healthz on $PORT via loopback when HOST is a wildcard', async () => {
    status = 200;
    expect(await healthcheck(port)).toMatchObject({ code: 0 });
  });

  it('exits 1 on 503 (unready), naming the URL and the status', async () => {
    status = 503;
    const result = await healthcheck(port, '/readyz');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`http://127.0.0.1:${port}/readyz: HTTP 503`);
  });

  it('exits 1 when nothing listens on $PORT', async () => {
    const result = await healthcheck(await freePort());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ECONNREFUSED');
  });
});

describe('the production install (npm ci --omit=dev)', () => {
  /** Bare module names that the files reachable from `entries` require, by relative imports. */
  function requiredPackages(entries: string[]): Map<string, string> {
    const builtins = new Set(builtinModules);
    const packages = new Map<string, string>();
    const seen = new Set<string>();
    const queue = [...entries];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = match[1]!;
        if (spec.startsWith('.')) {
          const base = resolve(dirname(file), spec);
          const target = [base, `${base}.js`, join(base, 'index.js')].find(
            (p) => existsSync(p) && p.endsWith('.js'),
          );
          if (target) queue.push(target);
        } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
          const name = spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/');
          if (!packages.has(name)) packages.set(name, relative(APP, file));
        }
      }
    }
    return packages;
  }

  it('has every package that the services, standalone mode and secrets-reseal load', () => {
    const entries = [
      ...SERVICE_NAMES.map((s) => join(APP, `dist/services/${s}/src/main.js`)),
      join(APP, 'dist/apps/standalone/src/main.js'),
      join(APP, 'dist/tools/secrets-reseal.js'),
    ];
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const packages = requiredPackages(entries);
    expect(packages.size).toBeGreaterThan(20);
    expect([...packages.keys()]).toEqual(expect.arrayContaining(['kafkajs', 'mongoose', 'argon2']));
    const missing = [...packages]
      .filter(([name]) => {
        const installed = lock.packages[`node_modules/${name}`];
        return installed === undefined || installed.dev === true;
      })
      .map(([name, from]) => `${name} (required by ${from})`);
    expect(missing).toEqual([]);
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs the entry script as uid 10001 from /app, with the settings containers need', () => {
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toMatch(/^USER 10001:10001$/m);
    expect(runtime).toContain('ENTRYPOINT ["/bin/sh", "/app/deploy/image/entrypoint.sh"]');
    expect(runtime).toMatch(
      /HEALTHCHECK[\s\S]*CMD \["node", "\/app\/deploy\/image\/healthcheck\.js"/,
    );
    for (const setting of ['NODE_ENV=production', 'HOST=0.0.0.0', 'CLOUDFLOW_DATA_DIR=/data']) {
      expect(runtime).toContain(setting);
    }
    expect(runtime).toContain('VOLUME ["/data"]');
  });

  it('copies into /app everything the entry script uses', () => {
    for (const copy of [
      'COPY --from=deps /src/node_modules ./node_modules',
      'COPY --from=build /src/dist ./dist',
      'COPY tools/node-options.json ./tools/',
      'COPY samples/data ./samples/data',
      'COPY deploy/image ./deploy/image',
    ]) {
      expect(runtime).toContain(copy);
    }
    // And the build context (.dockerignore) lets those files in.
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const path of ['!tools/', '!samples/data/', '!deploy/image/', '!package-lock.json']) {
      expect(ignore).toContain(path);
    }
  });
});
