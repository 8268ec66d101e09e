import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Topics } from '@cloudflow/contracts';
import { DEFAULT_TASK_PARTITIONS, WORKER_GROUP_ID } from '@cloudflow/messaging';
import { parse } from 'yaml';
import {
  CHART_DIR,
  FULLNAME,
  LOCAL_VALUES,
  NAMESPACE,
  PRODUCTION_VALUES,
  RELEASE,
  REPO_ROOT,
  REQUIRED_VALUES,
  SERVICES,
  containerOf,
  deploymentOf,
  envOf,
  first,
  mainContainer,
  helm,
  named,
  ofKind,
  podLabels,
  render,
  renderFailure,
  renderNotes,
  selects,
  workload,
  type Manifest,
  type NetworkPolicyPeer,
  type NetworkPolicyRule,
  type Rendered,
  type LabelSelector,
} from './support/chart';
import { validateManifests } from './support/deploy-tools';

/**
 * The Helm chart, checked offline: helm lint, helm template for the default,
 * local and production values, kubeconform -strict on every object, and the
 * properties the deployment depends on, read from the rendered objects.
 */
const VALUE_SETS: [string, string[]][] = [
  ['defaults', REQUIRED_VALUES],
  ['values-local.yaml', LOCAL_VALUES],
  ['examples/values-production.yaml', PRODUCTION_VALUES],
];
const MONITORING = { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } };
const INGRESS_NGINX = { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } };

const rendered = new Map<string, Rendered>();
function rendering(set: string): Rendered {
  const cached = rendered.get(set);
  if (cached) return cached;
  const values = VALUE_SETS.find(([name]) => name === set)?.[1];
  if (!values) throw new Error(`unknown value set ${set}`);
  const result = render(values);
  rendered.set(set, result);
  return result;
}

const spec = <T>(manifest: Manifest): T => manifest.spec as T;
const decode = (value: string | undefined): string => Buffer.from(value ?? '', 'base64').toString();

describe('the chart renders valid Kubernetes objects', () => {
  it.each(VALUE_SETS)('helm lint --strict passes with %s', (_name, values) => {
    const result = helm(['lint', '--strict', CHART_DIR, ...values]);
    expect(`${result.stdout}${result.stderr}`).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it.each(VALUE_SETS.map(([name]) => name))(
    'every object of %s passes kubeconform -strict, none skipped',
    (set) => {
      const { yaml, manifests } = rendering(set);
      const summary = validateManifests(yaml);
      expect(summary.problems).toEqual([]);
      expect(summary).toMatchObject({ valid: manifests.length, skipped: 0, errors: 0 });
    },
  );

  it('kubeconform refuses an unknown field, also in the custom resources', () => {
    const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: x, image: x}]}}\n`;
    const monitor = `apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  selector: {}\n  endpoints: [{port: http, pathh: /metrics}]\n`;
    expect(validateManifests(deployment).invalid).toBe(1);
    expect(validateManifests(monitor).invalid).toBe(1);
  });
});

describe.each(VALUE_SETS.map(([name]) => name))('the services, with %s', (set) => {
  it('each has a Deployment and a Service from the one image, chosen by its argument', () => {
    const r = rendering(set);
    for (const service of SERVICES) {
      const container = containerOf(r, service);
      expect(container.image).toMatch(/^ghcr\.io\/cloudflow\/cloudflow:/);
      expect(container.args).toEqual([service]);
      expect(envOf(container, 'HOST')?.value).toBe('0.0.0.0');
      const port = container.ports?.find((p) => p.name === 'http')?.containerPort;
      expect(envOf(container, 'PORT')?.value).toBe(String(port));
      const svc = spec<{ selector: Record<string, string>; ports: { targetPort: string }[] }>(
        named(r, 'Service', `${FULLNAME}-${service}`),
      );
      expect(
        selects(
          { matchLabels: svc.selector },
          deploymentOf(r, service).template.metadata.labels ?? {},
        ),
      ).toBe(true);
      expect(first(svc.ports, 'port').targetPort).toBe('http');
    }
  });

  it('every container is probed on /healthz and /readyz, has requests and limits, runs non-root on a read-only root', () => {
    const r = rendering(set);
    for (const service of SERVICES) {
      const pod = deploymentOf(r, service).template.spec;
      const c = mainContainer(pod);
      expect([c.startupProbe?.httpGet?.path, c.livenessProbe?.httpGet?.path]).toEqual([
        '/healthz',
        '/healthz',
      ]);
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const kind of ['requests', 'limits'] as const) {
          expect(Object.keys(container.resources?.[kind] ?? {})).toEqual(
            expect.arrayContaining(['cpu', 'memory']),
          );
        }
        expect(container.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 10001,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      }
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
    }
    const account = named(r, 'ServiceAccount', FULLNAME);
    expect(account.automountServiceAccountToken).toBe(false);
  });

  it('every pod outlives its own graceful shutdown', () => {
    const r = rendering(set);
    for (const service of SERVICES) {
      const pod = deploymentOf(r, service).template.spec;
      const shutdownMs = Number(envOf(mainContainer(pod), 'SHUTDOWN_TIMEOUT_MS')?.value);
      expect(shutdownMs).toBeGreaterThan(0);
      expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(shutdownMs);
    }
    const worker = containerOf(r, 'worker');
    expect(Number(envOf(worker, 'TASK_DRAIN_TIMEOUT_MS')?.value) + 5000).toBeLessThanOrEqual(
      Number(envOf(worker, 'SHUTDOWN_TIMEOUT_MS')?.value),
    );
  });

  it('the scheduler, the workers and the broker share one data volume; the others do not mount it', () => {
    const r = rendering(set);
    const claims = SERVICES.map((service) => {
      const pod = deploymentOf(r, service).template.spec;
      return pod.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName;
    });
    const [gateway, auth, registry, scheduler, worker, broker] = claims;
    expect([gateway, auth, registry]).toEqual([undefined, undefined, undefined]);
    expect(scheduler).toBeDefined();
    expect([worker, broker]).toEqual([scheduler, scheduler]);
    const dataDir = envOf(containerOf(r, 'worker'), 'CLOUDFLOW_DATA_DIR')?.value;
    expect(envOf(containerOf(r, 'job-scheduler'), 'CLOUDFLOW_DATA_DIR')?.value).toBe(dataDir);
    expect(containerOf(r, 'worker').volumeMounts).toContainEqual({
      name: 'data',
      mountPath: dataDir,
    });
  });

  it('only the gateway admits traffic from outside CloudFlow; auth only from the gateway', () => {
    const r = rendering(set);
    const policies = ofKind(r, 'NetworkPolicy');
    const pods = podLabels(r);
    const serviceNames = new Set<string>(SERVICES);
    // A peer inside the release: pods of this namespace, selected by this release's labels,
    // all of them CloudFlow services.
    const internal = (peer: NetworkPolicyPeer): boolean => {
      if (peer.namespaceSelector || peer.ipBlock || !peer.podSelector) return false;
      if (peer.podSelector.matchLabels?.['app.kubernetes.io/instance'] !== RELEASE) return false;
      const selected = [...pods.values()].filter((labels) =>
        selects(peer.podSelector as LabelSelector, labels),
      );
      return (
        selected.length > 0 &&
        selected.every((l) => serviceNames.has(l['app.kubernetes.io/component'] ?? ''))
      );
    };
    const monitoring = (peer: NetworkPolicyPeer) =>
      JSON.stringify(peer.namespaceSelector) === JSON.stringify(MONITORING);

    for (const [name, labels] of pods) {
      const covering = policies.filter((p) =>
        selects(spec<{ podSelector: LabelSelector }>(p).podSelector, labels),
      );
      expect({ name, policies: covering.length }).toEqual({ name, policies: 1 });
    }
    for (const policy of policies) {
      const { ingress = [] } = spec<{ ingress?: NetworkPolicyRule[] }>(policy);
      // A rule without `from` admits any source.
      const peers = ingress.flatMap((rule) => rule.from ?? [{ ipBlock: { cidr: '0.0.0.0/0' } }]);
      if (policy.metadata.name === `${FULLNAME}-gateway`) {
        // The defaults admit any source; the local and production values the ingress controller.
        const outside = peers.filter((peer) => !internal(peer) && !monitoring(peer));
        expect(outside).toEqual(
          set === 'defaults'
            ? [{ ipBlock: { cidr: '0.0.0.0/0' } }]
            : [{ namespaceSelector: INGRESS_NGINX }],
        );
        continue;
      }
      expect({
        policy: policy.metadata.name,
        outside: peers.filter((p) => !internal(p) && !monitoring(p)),
      }).toEqual({
        policy: policy.metadata.name,
        outside: [],
      });
      if (policy.metadata.name === `${FULLNAME}-auth`) {
        const callers = peers.filter((p) => !monitoring(p));
        expect(
          callers.map((p) => p.podSelector?.matchLabels?.['app.kubernetes.io/component']),
        ).toEqual(['gateway']);
      }
    }
  });
});

describe('configuration', () => {
  it('the gateway reaches auth over HTTP, trusts one proxy hop (the Ingress), and the issuer is the public URL', () => {
    const r = rendering('defaults');
    const gateway = containerOf(r, 'gateway');
    expect(envOf(gateway, 'AUTH_HTTP_URL')?.value).toBe(`http://${FULLNAME}-auth:8081`);
    expect(envOf(gateway, 'TRUST_PROXY')?.value).toBe('1');
    expect(envOf(containerOf(r, 'auth'), 'OAUTH_ISSUER')?.value).toBe(
      'http://cloudflow.example.com',
    );
    const ingress = spec<{
      rules: {
        host: string;
        http: { paths: { path: string; backend: { service: { name: string } } }[] };
      }[];
    }>(named(r, 'Ingress', FULLNAME));
    const rule = first(ingress.rules, 'Ingress rule');
    expect(rule.host).toBe('cloudflow.example.com');
    // The gateway's public paths only: its probes and /metrics are not routed from outside.
    expect(rule.http.paths.map((p) => p.path).sort()).toEqual([
      '/.well-known',
      '/api',
      '/auth',
      '/docs',
    ]);
    for (const path of rule.http.paths) {
      expect(path.backend.service.name).toBe(`${FULLNAME}-gateway`);
    }
    const production = rendering('examples/values-production.yaml');
    expect(envOf(containerOf(production, 'auth'), 'OAUTH_ISSUER')?.value).toBe(
      'https://cloudflow.example.com',
    );
    expect(spec<{ tls?: unknown[] }>(named(production, 'Ingress', FULLNAME)).tls).toHaveLength(1);
  });

  it('the local values seed the sample input into the data root before the scheduler starts', () => {
    const pod = deploymentOf(rendering('values-local.yaml'), 'job-scheduler').template.spec;
    const [seed] = pod.initContainers ?? [];
    expect(seed?.args).toEqual(['seed-samples']);
    expect(seed?.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(
      deploymentOf(rendering('defaults'), 'job-scheduler').template.spec.initContainers,
    ).toBeUndefined();
  });

  it('the chart agrees with the code on the task topic, the worker group and the partition count', () => {
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
      kafka: { taskPartitions: number };
    };
    expect(values.kafka.taskPartitions).toBe(DEFAULT_TASK_PARTITIONS);
    const trigger = first(
      spec<{ triggers: { metadata: Record<string, string> }[] }>(
        named(rendering('examples/values-production.yaml'), 'ScaledObject', `${FULLNAME}-worker`),
      ).triggers,
      'trigger',
    );
    expect(trigger.metadata).toMatchObject({
      topic: Topics.tasks,
      consumerGroup: WORKER_GROUP_ID,
      lagThreshold: '2',
    });
  });
});

describe('worker autoscaling', () => {
  const hpasOnWorker = (r: Rendered) =>
    ofKind(r, 'HorizontalPodAutoscaler').filter(
      (h) =>
        spec<{ scaleTargetRef: { name: string } }>(h).scaleTargetRef.name === `${FULLNAME}-worker`,
    );

  it('by default an HPA on CPU scales the worker Deployment, which leaves its replicas to it', () => {
    const r = rendering('defaults');
    const hpa = first(ofKind(r, 'HorizontalPodAutoscaler'), 'HPA');
    expect(spec(hpa)).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${FULLNAME}-worker` },
      minReplicas: 2,
      maxReplicas: 8,
      metrics: [{ type: 'Resource', resource: { name: 'cpu' } }],
    });
    expect(deploymentOf(r, 'worker').replicas).toBeUndefined();
    expect(ofKind(r, 'ScaledObject')).toEqual([]);
  });

  it.each([
    ['examples/values-production.yaml', PRODUCTION_VALUES],
    ['defaults with KEDA', [...REQUIRED_VALUES, '--set', 'worker.autoscaling.keda.enabled=true']],
  ])(
    'with KEDA (%s) a ScaledObject scales the worker and no HPA of the chart does',
    (_name, values) => {
      const r = render(values);
      const scaled = first(ofKind(r, 'ScaledObject'), 'ScaledObject');
      expect(spec(scaled)).toMatchObject({
        scaleTargetRef: { name: `${FULLNAME}-worker` },
        triggers: [{ type: 'kafka' }],
      });
      expect(hpasOnWorker(r)).toEqual([]);
    },
  );

  it('a worker maximum above the task partitions is refused, with autoscaling and without', () => {
    expect(
      renderFailure([...REQUIRED_VALUES, '--set', 'worker.autoscaling.maxReplicas=13']),
    ).toMatch(/may grow to 13 replicas but kafka\.taskPartitions .* is 12/);
    const fixed = ['--set', 'worker.autoscaling.enabled=false', '--set', 'worker.replicas=20'];
    expect(
      renderFailure([...REQUIRED_VALUES, ...fixed, '--set', 'kafka.taskPartitions=16']),
    ).toContain('kafka.taskPartitions');
    expect(
      render([...REQUIRED_VALUES, ...fixed, '--set', 'kafka.taskPartitions=20']).manifests.length,
    ).toBeGreaterThan(0);
  });

  it('a grace period that does not outlast the shutdown budget is refused', () => {
    const values = [
      '--set',
      'worker.shutdownTimeoutSeconds=60',
      '--set',
      'worker.terminationGracePeriodSeconds=60',
    ];
    expect(
      renderFailure([...REQUIRED_VALUES, ...values, '--set', 'worker.taskDrainTimeoutSeconds=50']),
    ).toContain(
      'worker.terminationGracePeriodSeconds (60) must be larger than worker.shutdownTimeoutSeconds (60',
    );
    expect(
      renderFailure([...REQUIRED_VALUES, '--set', 'worker.taskDrainTimeoutSeconds=28']),
    ).toContain('worker.taskDrainTimeoutSeconds (28) must leave 5 s');
  });
});

describe('values are checked', () => {
  it.each([
    [
      'kafka.brokers',
      ['--set', 'mongodb.url=mongodb://m:27017/c', '--set', 'ingress.host=h.example.com'],
    ],
    ['mongodb.url', ['--set', 'kafka.brokers=k:9092', '--set', 'ingress.host=h.example.com']],
    ['ingress.host', ['--set', 'kafka.brokers=k:9092', '--set', 'mongodb.url=mongodb://m:27017/c']],
  ])('a missing %s stops the install with a message naming it', (value, values) => {
    expect(renderFailure(values)).toContain(`cloudflow: ${value} is required`);
  });

  it.each([
    ['a misspelt key', 'worker.autoscalling.maxReplicas=3', 'autoscalling'],
    ['a value outside its enum', 'config.logLevel=verbose', 'logLevel'],
    ['a wrong type', 'gateway.replicas=two', 'replicas'],
    ['a malformed broker list', 'kafka.brokers=kafka', 'brokers'],
  ])('%s fails schema validation', (_what, setting, key) => {
    const failure = renderFailure([...REQUIRED_VALUES, '--set', setting]);
    expect(failure).toContain("values don't meet the specifications of the schema");
    expect(failure).toContain(key);
  });
});

describe('secrets', () => {
  const generated = (r: Rendered) => named(r, 'Secret', `${FULLNAME}-secrets`);

  it('are generated at random, never defaulted, and kept on uninstall', () => {
    const renders = [render(REQUIRED_VALUES), render(REQUIRED_VALUES)].map(generated);
    for (const secret of renders) {
      expect(Buffer.from(decode(secret.data?.['CLOUDFLOW_SECRET_KEY']), 'base64')).toHaveLength(32);
      expect(decode(secret.data?.['CLOUDFLOW_BOOTSTRAP_API_KEY'])).toMatch(/^cfk_[A-Za-z0-9]{40}$/);
      expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    }
    for (const key of ['CLOUDFLOW_SECRET_KEY', 'CLOUDFLOW_BOOTSTRAP_API_KEY']) {
      expect(renders[0]?.data?.[key]).toBeDefined();
      expect(renders[0]?.data?.[key]).not.toBe(renders[1]?.data?.[key]);
    }
  });

  it.each(VALUE_SETS.map(([name]) => name))(
    'no credential is in the ConfigMap or a default (%s)',
    (set) => {
      const r = rendering(set);
      expect(r.yaml).not.toContain('FAKE-API-KEY-123456');
      const config = named(r, 'ConfigMap', `${FULLNAME}-config`).data ?? {};
      expect(Object.keys(config).filter((k) => /SECRET|PASSWORD|API_KEY/.test(k))).toEqual([]);
      expect(Object.values(config).filter((v) => /:\/\/[^/]*@/.test(v))).toEqual([]);
    },
  );

  it('take given values and Secrets; a MongoDB URL with a password goes into a Secret', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const r = render([
      ...REQUIRED_VALUES,
      '--set',
      `secrets.secretKey=${key}`,
      '--set',
      'secrets.bootstrapApiKey=cfk_given-admin-key-0123',
      '--set',
      'mongodb.url=mongodb://cloudflow:s3cret@mongo:27017/cloudflow',
    ]);
    expect(decode(generated(r).data?.['CLOUDFLOW_SECRET_KEY'])).toBe(key);
    expect(decode(generated(r).data?.['CLOUDFLOW_BOOTSTRAP_API_KEY'])).toBe(
      'cfk_given-admin-key-0123',
    );
    expect(decode(named(r, 'Secret', `${FULLNAME}-connections`).data?.['MONGO_URL'])).toContain(
      's3cret',
    );
    expect(envOf(containerOf(r, 'worker'), 'MONGO_URL')?.valueFrom?.secretKeyRef?.name).toBe(
      `${FULLNAME}-connections`,
    );

    const production = rendering('examples/values-production.yaml');
    expect(ofKind(production, 'Secret')).toEqual([]);
    const auth = containerOf(production, 'auth');
    expect(envOf(auth, 'CLOUDFLOW_SECRET_KEY')?.valueFrom?.secretKeyRef?.name).toBe(
      'cloudflow-keys',
    );
    expect(envOf(auth, 'MONGO_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'cloudflow-mongodb',
      key: 'MONGO_URL',
    });
    expect(envOf(containerOf(production, 'gateway'), 'CLOUDFLOW_SECRET_KEY')).toBeUndefined();
  });
});

describe('Kafka and MongoDB in the cluster', () => {
  it('are rendered only when enabled', () => {
    expect(ofKind(rendering('defaults'), 'StatefulSet')).toEqual([]);
    expect(ofKind(rendering('examples/values-production.yaml'), 'StatefulSet')).toEqual([]);
    const local = rendering('values-local.yaml');
    expect(
      ofKind(local, 'StatefulSet')
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual([`${FULLNAME}-kafka`, `${FULLNAME}-mongodb`]);
  });

  it('have volumes, probes, resources, run non-root, and are what the services connect to', () => {
    const local = rendering('values-local.yaml');
    for (const name of ['kafka', 'mongodb']) {
      const set = workload(named(local, 'StatefulSet', `${FULLNAME}-${name}`));
      expect(first(set.volumeClaimTemplates, 'volume claim template').metadata.name).toBe('data');
      const c = mainContainer(set.template.spec);
      expect([c.startupProbe, c.livenessProbe, c.readinessProbe].every(Boolean)).toBe(true);
      expect(c.resources?.limits?.['memory']).toBeDefined();
      expect(set.template.spec.securityContext?.runAsNonRoot).toBe(true);
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    }
    const config = named(local, 'ConfigMap', `${FULLNAME}-config`).data ?? {};
    expect(config['KAFKA_BROKERS']).toBe(`${FULLNAME}-kafka.${NAMESPACE}.svc.cluster.local:9092`);
    expect(envOf(containerOf(local, 'gateway'), 'MONGO_URL')?.value).toContain(
      `@${FULLNAME}-mongodb.${NAMESPACE}.svc:27017/`,
    );
  });
});

describe('observability', () => {
  const dashboardFile = join(CHART_DIR, 'dashboards', 'cloudflow-dashboard.json');

  it('the ServiceMonitor scrapes /metrics of the six services and nothing else', () => {
    const r = rendering('examples/values-production.yaml');
    const monitor = spec<{ selector: LabelSelector; endpoints: { port: string; path: string }[] }>(
      named(r, 'ServiceMonitor', FULLNAME),
    );
    expect(monitor.endpoints).toEqual([
      expect.objectContaining({ port: 'http', path: '/metrics' }),
    ]);
    const scraped = ofKind(r, 'Service').filter((s) =>
      selects(monitor.selector, s.metadata.labels ?? {}),
    );
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual(
      SERVICES.map((s) => `${FULLNAME}-${s}`).sort(),
    );
    expect(ofKind(rendering('defaults'), 'ServiceMonitor')).toEqual([]);
  });

  it('the Grafana dashboard charts every CloudFlow metric, and ships once', () => {
    const text = readFileSync(dashboardFile, 'utf8');
    const dashboard = JSON.parse(text) as { panels: { targets?: { expr: string }[] }[] };
    const queries = dashboard.panels
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .join('\n');
    for (const metric of [
      'cloudflow_http_requests_total',
      'cloudflow_http_request_duration_seconds_bucket',
      'cloudflow_jobs',
      'cloudflow_tasks_started_total',
      'cloudflow_tasks_finished_total',
      'cloudflow_tasks_retried_total',
      'cloudflow_rows_processed_total',
      'cloudflow_bytes_processed_total',
      'cloudflow_task_duration_seconds_bucket',
      'cloudflow_kafka_consumer_lag',
      'cloudflow_task_lease_expiries_total',
    ]) {
      expect(queries).toMatch(new RegExp(`\\b${metric}\\{`));
    }
    expect(
      readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'cloudflow-dashboard.json'), 'utf8'),
    ).toBe(text);
    const r = rendering('examples/values-production.yaml');
    const configMap = named(r, 'ConfigMap', `${FULLNAME}-dashboard`);
    expect(configMap.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(configMap.data?.['cloudflow-dashboard.json']).toBe(text.trimEnd());
  });
});

describe('NOTES.txt', () => {
  it('says where the API is, how to read the generated key and how to run a job', () => {
    const notes = renderNotes(REQUIRED_VALUES);
    expect(notes).toContain('http://cloudflow.example.com/api/v1');
    expect(notes).toContain(
      `kubectl -n ${NAMESPACE} get secret ${FULLNAME}-secrets \\\n       -o jsonpath='{.data.CLOUDFLOW_BOOTSTRAP_API_KEY}' | base64 -d`,
    );
    expect(notes).toContain('cloudflow jobs submit --pipeline people-upper --input /people.csv');
    expect(renderNotes(LOCAL_VALUES)).toContain('--input /fake/data.csv');
    expect(renderNotes(PRODUCTION_VALUES)).toContain('get secret cloudflow-keys');
  });
});
