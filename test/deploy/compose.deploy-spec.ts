// deploy/compose/compose.yaml as Docker Compose itself reads it: `docker compose config`
// needs no engine. The Compose plugin comes from deploy/tools/install-compose (built into the
// cache outside the repository the first time, minutes; instant afterwards).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, SERVICE_NAMES } from '@cloudflow/testing';

const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose/compose.yaml');
/** The services that read and write the data root. */
const DATA_ROOT_SERVICES = ['job-scheduler', 'worker', 'datasource-broker'];
const SECRETS = {
  CLOUDFLOW_SECRET_KEY: 'c2VjcmV0LWtleS1mb3ItY29tcG9zZS1jb25maWctdGVzdA==',
  CLOUDFLOW_BOOTSTRAP_API_KEY: 'cfk_compose-config-test-key',
};

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: { host_ip?: string; published?: string; target: number }[];
  read_only?: boolean;
  user?: string;
  tmpfs?: string[];
  deploy?: { replicas?: number };
  volumes?: { type: string; source?: string; target: string }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
}
interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

let dockerConfig: string;
let workDir: string;
let project: ComposeProject;

/** `docker compose -f compose.yaml <args>` with exactly `env` (no .env file, no shell settings). */
function compose(args: string[], env: Record<string, string>) {
  return spawnSync(
    'docker',
    ['compose', '--env-file', join(workDir, 'empty.env'), '-f', COMPOSE_FILE, ...args],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env['PATH'], HOME: workDir, DOCKER_CONFIG: dockerConfig, ...env },
    },
  );
}

beforeAll(() => {
  const install = spawnSync(
    'bash',
    [join(REPO_ROOT, 'deploy/tools/install-compose'), '--docker-config'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (install.status !== 0) throw new Error('deploy/tools/install-compose failed (see above)');
  dockerConfig = install.stdout.trim();
  workDir = mkdtempSync(join(tmpdir(), 'cloudflow-compose-'));
  writeFileSync(join(workDir, 'empty.env'), '');

  const config = compose(['config', '--format', 'json'], SECRETS);
  if (config.status !== 0) throw new Error(`docker compose config failed:\n${config.stderr}`);
  project = JSON.parse(config.stdout) as ComposeProject;
}, 20 * 60_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const service = (name: string): ComposeService => {
  const found = project.services[name];
  if (!found) throw new Error(`no service ${name} in ${COMPOSE_FILE}`);
  return found;
};

describe('deploy/compose/compose.yaml', () => {
  it('validates, and runs every CloudFlow service from the image built from deploy/Dockerfile', () => {
    expect(project.name).toBe('cloudflow');
    const images = new Set<string | undefined>();
    for (const name of SERVICE_NAMES) {
      const s = service(name);
      expect({ name, command: s.command }).toEqual({ name, command: [name] });
      expect(s.build).toMatchObject({ context: REPO_ROOT, dockerfile: 'deploy/Dockerfile' });
      images.add(s.image);
    }
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^[\w./-]+:[\w.-]+$/);
  });

  it('runs Kafka 4 (KRaft) and MongoDB, which the services reach by their service names', () => {
    expect(service('kafka').image).toMatch(/^apache\/kafka:4\./);
    expect(service('mongodb').image).toMatch(/^mongo:[78]([.:]|$)/);
    const advertised = service('kafka').environment?.['KAFKA_ADVERTISED_LISTENERS'];
    for (const name of SERVICE_NAMES) {
      const env = service(name).environment ?? {};
      expect(advertised).toBe(`PLAINTEXT://${env['KAFKA_BROKERS']}`);
      expect(env['MONGO_URL']).toMatch(/^mongodb:\/\/mongodb:27017\/\w+$/);
    }
  });

  it('publishes only the gateway, and only on 127.0.0.1', () => {
    for (const [name, s] of Object.entries(project.services)) {
      if (name === 'gateway') continue;
      expect({ name, ports: s.ports ?? [] }).toEqual({ name, ports: [] });
    }
    expect(service('gateway').ports).toEqual([
      expect.objectContaining({ host_ip: '127.0.0.1', published: '8080', target: 8080 }),
    ]);
  });

  it('runs CloudFlow containers as uid 10001 on a read-only root file system with a /tmp tmpfs', () => {
    for (const name of [...SERVICE_NAMES, 'samples']) {
      const s = service(name);
      expect({ name, user: s.user, readOnly: s.read_only }).toEqual({
        name,
        user: '10001:10001',
        readOnly: true,
      });
      expect(s.tmpfs?.some((t) => t === '/tmp' || t.startsWith('/tmp:'))).toBe(true);
    }
  });

  it('starts two workers', () => {
    expect(service('worker').deploy?.replicas).toBe(2);
  });

  it('shares one data volume at /data between the scheduler, the workers and the broker', () => {
    const sources = new Set<string | undefined>();
    for (const name of [...DATA_ROOT_SERVICES, 'samples']) {
      const data = service(name).volumes?.find((v) => v.target === '/data');
      expect({ name, type: data?.type }).toEqual({ name, type: 'volume' });
      sources.add(data?.source);
    }
    expect(sources.size).toBe(1);
    expect(Object.keys(project.volumes ?? {})).toContain([...sources][0]);
    for (const name of ['gateway', 'auth', 'pipeline-registry']) {
      expect({ name, volumes: service(name).volumes ?? [] }).toEqual({ name, volumes: [] });
    }
  });

  it('starts the services once Kafka and MongoDB are healthy, and checks their readiness', () => {
    expect(service('kafka').healthcheck?.test?.length).toBeGreaterThan(0);
    expect(service('mongodb').healthcheck?.test?.length).toBeGreaterThan(0);
    for (const name of SERVICE_NAMES) {
      const s = service(name);
      expect({ name, kafka: s.depends_on?.['kafka'], mongodb: s.depends_on?.['mongodb'] }).toEqual({
        name,
        kafka: expect.objectContaining({ condition: 'service_healthy' }),
        mongodb: expect.objectContaining({ condition: 'service_healthy' }),
      });
      expect(s.healthcheck?.test).toEqual([
        'CMD',
        'node',
        '/app/deploy/image/healthcheck.js',
        '/readyz',
      ]);
    }
    // The job input of the sample job is in the data volume before the scheduler starts.
    expect(service('samples').command).toEqual(['seed-samples']);
    expect(service('job-scheduler').depends_on?.['samples']).toMatchObject({
      condition: 'service_completed_successfully',
    });
  });

  it('hands the secret key only to auth and the datasource-broker, the API key only to auth', () => {
    for (const name of SERVICE_NAMES) {
      const env = service(name).environment ?? {};
      const expected = {
        name,
        secretKey: ['auth', 'datasource-broker'].includes(name)
          ? SECRETS.CLOUDFLOW_SECRET_KEY
          : undefined,
        apiKey: name === 'auth' ? SECRETS.CLOUDFLOW_BOOTSTRAP_API_KEY : undefined,
      };
      expect({
        name,
        secretKey: env['CLOUDFLOW_SECRET_KEY'],
        apiKey: env['CLOUDFLOW_BOOTSTRAP_API_KEY'],
      }).toEqual(expected);
    }
  });

  it.each(Object.keys(SECRETS))('refuses to run without %s, naming it', (variable) => {
    const env: Record<string, string> = { ...SECRETS };
    delete env[variable];
    const config = compose(['config', '--quiet'], env);
    expect(config.status).not.toBe(0);
    expect(config.stderr).toContain(`required variable ${variable} is missing a value`);
  });
});
