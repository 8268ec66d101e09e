import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretKeyEnvSchema } from '@cloudflow/config';
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
  type ServiceName,
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
/** The gateway and auth take HTTP through Services and the Ingress: they wait before SIGTERM. */
const PRE_STOP_SERVICES: readonly ServiceName[] = ['gateway', 'auth'];
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
const readChartFile = (...path: string[]): string => readFileSync(join(CHART_DIR, ...path), 'utf8');
/** Text with its line breaks and indentation folded, to find a sentence however it is wrapped. */
const folded = (text: string): string => text.replace(/\s+/g, ' ');

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
    // The production example names the registry its image was pushed to.
    const repository =
      set === 'examples/values-production.yaml'
        ? 'registry.example.com/cloudflow'
        : 'ghcr.io/cloudflow/cloudflow';
    for (const service of SERVICES) {
      const container = containerOf(r, service);
      expect(container.image.startsWith(`${repository}:`)).toBe(true);
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

  it('every pod outlives its preStop wait and its graceful shutdown; the gateway and auth wait before SIGTERM', () => {
    const r = rendering(set);
    for (const service of SERVICES) {
      const pod = deploymentOf(r, service).template.spec;
      const container = mainContainer(pod);
      const shutdownMs = Number(envOf(container, 'SHUTDOWN_TIMEOUT_MS')?.value);
      expect(shutdownMs).toBeGreaterThan(0);
      const preStop = container.lifecycle?.preStop;
      if (PRE_STOP_SERVICES.includes(service)) {
        expect({ service, preStop }).toEqual({
          service,
          preStop: { exec: { command: ['/bin/sleep', '5'] } },
        });
      } else {
        expect({ service, lifecycle: container.lifecycle }).toEqual({
          service,
          lifecycle: undefined,
        });
      }
      const preStopMs = Number(preStop?.exec?.command[1] ?? 0) * 1000;
      expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(
        preStopMs + shutdownMs,
      );
    }
    const worker = containerOf(r, 'worker');
    expect(Number(envOf(worker, 'TASK_DRAIN_TIMEOUT_MS')?.value) + 5000).toBeLessThanOrEqual(
      Number(envOf(worker, 'SHUTDOWN_TIMEOUT_MS')?.value),
    );
  });

  it('the scheduler, the workers and the broker share one data volume; the others do not mount it', () => {
    const r = rendering(set);
    const claimOf = (service: ServiceName) =>
      deploymentOf(r, service).template.spec.volumes?.find((v) => v.name === 'data')
        ?.persistentVolumeClaim?.claimName;
    const [gateway, auth, registry, scheduler, worker, broker] = (
      [
        'gateway',
        'auth',
        'pipeline-registry',
        'job-scheduler',
        'worker',
        'datasource-broker',
      ] as const
    ).map(claimOf);
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

describe('Kafka with a private CA', () => {
  const values = [
    ...REQUIRED_VALUES,
    '--set',
    'kafka.tls.enabled=true',
    '--set',
    'kafka.tls.caSecret=kafka-cluster-ca',
    '--set',
    'worker.autoscaling.keda.enabled=true',
  ];

  it('every service trusts the CA from the Secret (KAFKA_TLS_CA_FILE), and KEDA gets it too', () => {
    const r = render(values);
    expect(validateManifests(r.yaml).invalid).toBe(0);
    const config = named(r, 'ConfigMap', `${FULLNAME}-config`).data ?? {};
    expect(config).toMatchObject({
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: '/etc/cloudflow/kafka-ca/ca.crt',
    });
    for (const service of SERVICES) {
      const pod = deploymentOf(r, service).template.spec;
      const volume = (pod.volumes ?? []).find((v) => v.name === 'kafka-ca') as
        | { secret?: { secretName: string; items: { key: string; path: string }[] } }
        | undefined;
      expect(volume?.secret).toEqual({
        secretName: 'kafka-cluster-ca',
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      });
      expect(mainContainer(pod).volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'kafka-ca', mountPath: '/etc/cloudflow/kafka-ca' }),
      );
    }
    const auth = spec<{ secretTargetRef: { parameter: string; name: string; key: string }[] }>(
      named(r, 'TriggerAuthentication', `${FULLNAME}-kafka`),
    );
    expect(auth.secretTargetRef).toEqual([
      { parameter: 'ca', name: 'kafka-cluster-ca', key: 'ca.crt' },
    ]);
    const trigger = first(
      spec<{ triggers: { authenticationRef?: { name: string } }[] }>(
        named(r, 'ScaledObject', `${FULLNAME}-worker`),
      ).triggers,
      'trigger',
    );
    expect(trigger.authenticationRef).toEqual({ name: `${FULLNAME}-kafka` });
  });

  it('without TLS, or with the public CAs, nothing is mounted', () => {
    for (const r of [
      render([...REQUIRED_VALUES, '--set', 'kafka.tls.caSecret=kafka-cluster-ca']),
      render([...REQUIRED_VALUES, '--set', 'kafka.tls.enabled=true']),
    ]) {
      expect(
        named(r, 'ConfigMap', `${FULLNAME}-config`).data?.['KAFKA_TLS_CA_FILE'],
      ).toBeUndefined();
      expect(r.yaml).not.toContain('kafka-ca');
    }
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

describe('rolling updates', () => {
  it.each(PRE_STOP_SERVICES)(
    "%s's grace period must outlast its preStop wait plus its shutdown budget",
    (service) => {
      expect(
        renderFailure([...REQUIRED_VALUES, '--set', `${service}.terminationGracePeriodSeconds=15`]),
      ).toContain(
        `${service}.terminationGracePeriodSeconds (15) must be larger than ${service}.preStopSleepSeconds (5) plus ${service}.shutdownTimeoutSeconds (10`,
      );
      const longer = render([
        ...REQUIRED_VALUES,
        '--set',
        `${service}.preStopSleepSeconds=12`,
        '--set',
        `${service}.terminationGracePeriodSeconds=23`,
      ]);
      expect(containerOf(longer, service).lifecycle?.preStop?.exec?.command).toEqual([
        '/bin/sleep',
        '12',
      ]);
      const none = render([
        ...REQUIRED_VALUES,
        '--set',
        `${service}.preStopSleepSeconds=0`,
        '--set',
        `${service}.terminationGracePeriodSeconds=11`,
      ]);
      expect(containerOf(none, service).lifecycle).toBeUndefined();
    },
  );

  it('the image has the sleep the preStop hook runs', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'deploy', 'Dockerfile'), 'utf8');
    // Debian (bookworm) slim: coreutils, and so /bin/sleep, is essential and always there.
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:[0-9.]+-bookworm-slim$/m);
    expect(dockerfile).toContain('FROM ${NODE_IMAGE} AS runtime');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    // Nothing removes it: no coreutils, no sleep, no /bin or /usr/bin file touched.
    expect(runtime).not.toMatch(/sleep|coreutils|\s\/(usr\/)?bin\//);
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
      expect(config['MONGO_URL']).toBeUndefined();
    },
  );

  it('a MongoDB URL is kept in a Secret, never in a ConfigMap, even with credentials in its query string', () => {
    const url =
      'mongodb://mongo.example.com:27017/cloudflow?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:xyz';
    const r = render([...REQUIRED_VALUES, '--set-string', `mongodb.url=${url}`]);
    for (const configMap of ofKind(r, 'ConfigMap')) {
      expect({ name: configMap.metadata.name, data: JSON.stringify(configMap.data ?? {}) }).toEqual(
        {
          name: configMap.metadata.name,
          data: expect.not.stringContaining('AWS_SESSION_TOKEN'),
        },
      );
    }
    expect(decode(named(r, 'Secret', `${FULLNAME}-connections`).data?.['MONGO_URL'])).toBe(url);
    for (const service of SERVICES) {
      expect(envOf(containerOf(r, service), 'MONGO_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: `${FULLNAME}-connections`,
        key: 'MONGO_URL',
      });
    }
  });

  it('a key a service can do without is an optional secretKeyRef, so a Secret without it still starts the pod', () => {
    // What the services require: CLOUDFLOW_SECRET_KEY; _PREVIOUS has a default.
    expect(SecretKeyEnvSchema.shape.CLOUDFLOW_SECRET_KEY.safeParse(undefined).success).toBe(false);
    expect(
      SecretKeyEnvSchema.shape.CLOUDFLOW_SECRET_KEY_PREVIOUS.safeParse(undefined).success,
    ).toBe(true);
    const production = rendering('examples/values-production.yaml');
    const ref = (service: ServiceName, name: string) =>
      envOf(containerOf(production, service), name)?.valueFrom?.secretKeyRef;
    for (const service of ['auth', 'datasource-broker'] as const) {
      expect(ref(service, 'CLOUDFLOW_SECRET_KEY')).toEqual({
        name: 'cloudflow-keys',
        key: 'CLOUDFLOW_SECRET_KEY',
      });
      expect(ref(service, 'CLOUDFLOW_SECRET_KEY_PREVIOUS')?.optional).toBe(true);
    }
    // auth's CLOUDFLOW_BOOTSTRAP_API_KEY is optional too (services/auth/src/auth.config.ts).
    expect(ref('auth', 'CLOUDFLOW_BOOTSTRAP_API_KEY')).toEqual({
      name: 'cloudflow-keys',
      key: 'CLOUDFLOW_BOOTSTRAP_API_KEY',
      optional: true,
    });
  });

  describe('with secrets.generate=false (GitOps tools rendering with helm template)', () => {
    const noGenerate = [...REQUIRED_VALUES, '--set', 'secrets.generate=false'];
    const secretKey = Buffer.alloc(32, 9).toString('base64');

    it('is on by default, in the schema, and false in the production example', () => {
      const values = parse(readChartFile('values.yaml')) as { secrets: { generate: unknown } };
      expect(values.secrets.generate).toBe(true);
      expect(renderFailure([...REQUIRED_VALUES, '--set', 'secrets.generate=maybe'])).toContain(
        'generate',
      );
      const production = parse(readChartFile('examples', 'values-production.yaml')) as {
        secrets: { generate: unknown; existingSecret: unknown };
      };
      expect(production.secrets).toMatchObject({
        generate: false,
        existingSecret: 'cloudflow-keys',
      });
    });

    it('a key neither in secrets.existingSecret nor given fails the install, naming it', () => {
      const both = renderFailure(noGenerate);
      expect(both).toContain('secrets.generate is false');
      expect(both).toContain(
        'CLOUDFLOW_SECRET_KEY (set secrets.existingSecret or secrets.secretKey)',
      );
      expect(both).toContain(
        'CLOUDFLOW_BOOTSTRAP_API_KEY (set secrets.existingSecret or secrets.bootstrapApiKey)',
      );
      const one = renderFailure([...noGenerate, '--set', `secrets.secretKey=${secretKey}`]);
      expect(one).toContain('CLOUDFLOW_BOOTSTRAP_API_KEY');
      expect(one).not.toContain('CLOUDFLOW_SECRET_KEY (');
    });

    it('given keys render the same every time; secrets.existingSecret needs no Secret of the chart', () => {
      const given = [
        ...noGenerate,
        '--set',
        `secrets.secretKey=${secretKey}`,
        '--set',
        'secrets.bootstrapApiKey=cfk_given-admin-key-0123',
      ];
      const [a, b] = [render(given), render(given)].map((r) => generated(r).data);
      expect(decode(a?.['CLOUDFLOW_SECRET_KEY'])).toBe(secretKey);
      expect(b).toEqual(a);
      const mine = render([...noGenerate, '--set', 'secrets.existingSecret=mine']);
      expect(ofKind(mine, 'Secret').map((s) => s.metadata.name)).toEqual([
        `${FULLNAME}-connections`,
      ]);
      expect(
        envOf(containerOf(mine, 'auth'), 'CLOUDFLOW_SECRET_KEY')?.valueFrom?.secretKeyRef?.name,
      ).toBe('mine');
    });

    it("the in-cluster MongoDB's password must be given too", () => {
      const local = [
        ...LOCAL_VALUES,
        '--set',
        'secrets.generate=false',
        '--set',
        'secrets.existingSecret=mine',
      ];
      expect(renderFailure(local)).toContain(
        "the in-cluster MongoDB's password (set mongodb.inCluster.existingSecret or mongodb.inCluster.password)",
      );
      const given = [...local, '--set', 'mongodb.inCluster.password=given-Password-1234'];
      const [a, b] = [render(given), render(given)].map((r) => generated(r).data);
      expect(a).toEqual({
        MONGODB_PASSWORD: Buffer.from('given-Password-1234').toString('base64'),
      });
      expect(b).toEqual(a);
      const fromSecret = render([
        ...local,
        '--set',
        'mongodb.inCluster.existingSecret=mongo-root',
        '--set',
        'mongodb.inCluster.existingSecretKey=password',
      ]);
      expect(ofKind(fromSecret, 'Secret')).toEqual([]);
      const mongo = mainContainer(
        workload(named(fromSecret, 'StatefulSet', `${FULLNAME}-mongodb`)).template.spec,
      );
      for (const [container, name] of [
        [mongo, 'MONGO_INITDB_ROOT_PASSWORD'],
        [containerOf(fromSecret, 'worker'), 'MONGODB_PASSWORD'],
      ] as const) {
        expect(envOf(container, name)?.valueFrom?.secretKeyRef).toEqual({
          name: 'mongo-root',
          key: 'password',
        });
      }
    });

    it('GitOps installs are told to use secrets.existingSecret: values.yaml, the README, NOTES.txt', () => {
      expect(folded(readChartFile('values.yaml'))).toContain(
        'GitOps installs (Argo CD, Flux, ...) must use existingSecret, or set generate: false',
      );
      expect(folded(readChartFile('README.md'))).toContain(
        '**GitOps installs (Argo CD, Flux, ...) must use `secrets.existingSecret`**',
      );
      const gitOps =
        'Such installs must use secrets.existingSecret (a Secret you manage), or secrets.generate=false with the values given.';
      expect(folded(renderNotes(REQUIRED_VALUES))).toContain(gitOps);
      expect(folded(renderNotes(PRODUCTION_VALUES))).not.toContain(gitOps);
    });
  });

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

describe('object names', () => {
  // The longest release name Helm accepts (a longer one it refuses itself).
  const longRelease = 'a'.repeat(53);
  const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const checkNames = (r: Rendered) => {
    const names = r.manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const m of r.manifests) {
      const { name } = m.metadata;
      expect({ name, length: name.length, dnsLabel: dnsLabel.test(name) }).toEqual({
        name,
        length: expect.any(Number) as number,
        dnsLabel: true,
      });
      expect(name.length).toBeLessThanOrEqual(63);
      // A StatefulSet's pods carry controller-revision-hash: <name>-<hash of up to 10>.
      if (m.kind === 'StatefulSet') expect(name.length + 11).toBeLessThanOrEqual(63);
    }
  };

  it('Helm refuses release names over 53 characters', () => {
    expect(renderFailure(REQUIRED_VALUES, 'a'.repeat(60))).toContain('must not be longer than 53');
  });

  it.each([
    ...VALUE_SETS,
    [
      'defaults with a MongoDB URL, Kafka SASL and KEDA',
      [
        ...REQUIRED_VALUES,
        '--set',
        'mongodb.url=mongodb://u:p@mongo:27017/c',
        '--set',
        'kafka.sasl.enabled=true',
        '--set',
        'kafka.sasl.username=u',
        '--set',
        'kafka.sasl.password=p',
        '--set',
        'worker.autoscaling.keda.enabled=true',
        '--set',
        'ingress.tls.enabled=true',
      ],
    ],
  ])(
    'a 53-character release name keeps every object name a DNS label of at most 63 (%s)',
    (_name, values) => {
      const r = render(values, CHART_DIR, longRelease);
      expect(r.manifests.length).toBeGreaterThan(20);
      checkNames(r);
      // References follow the shortened names.
      const component = (kind: string, name: string) =>
        r.manifests.find(
          (m) => m.kind === kind && m.metadata.labels?.['app.kubernetes.io/component'] === name,
        );
      const gateway = workload(component('Deployment', 'gateway') as Manifest);
      expect(envOf(mainContainer(gateway.template.spec), 'AUTH_HTTP_URL')?.value).toBe(
        `http://${component('Service', 'auth')?.metadata.name}:8081`,
      );
    },
  );

  it('so does a 60-character fullnameOverride, cut where it leaves no trailing dash', () => {
    const r = render([
      ...LOCAL_VALUES,
      '--set',
      `fullnameOverride=${'b'.repeat(43)}-${'c'.repeat(16)}`,
    ]);
    checkNames(r);
    expect(ofKind(r, 'StatefulSet').map((s) => s.metadata.name)).toEqual([
      `${'b'.repeat(43)}-kafka`,
      `${'b'.repeat(43)}-mongodb`,
    ]);
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

  it('warn while the gateway trusts X-Forwarded-For from any source, and say how to narrow it', () => {
    const warning =
      "WARNING: the gateway takes the client's address from X-Forwarded-For (TRUST_PROXY=1)";
    const notes = folded(renderNotes(REQUIRED_VALUES));
    expect(notes).toContain(warning);
    expect(notes).toContain('both networkPolicy.ingressController selectors are empty');
    expect(notes).toContain(
      `--set-json 'networkPolicy.ingressController.namespaceSelector={"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}}'`,
    );
    expect(
      folded(renderNotes([...REQUIRED_VALUES, '--set', 'networkPolicy.enabled=false'])),
    ).toContain('networkPolicy.enabled is false');
    // Without the Ingress the gateway trusts no proxy; with the selectors set only the controller
    // reaches it.
    const noIngress = [
      '--set',
      'ingress.enabled=false',
      '--set',
      'publicUrl=http://127.0.0.1:8080',
    ];
    expect(renderNotes([...REQUIRED_VALUES, ...noIngress])).not.toContain('WARNING');
    expect(renderNotes(LOCAL_VALUES)).not.toContain('WARNING');
    expect(renderNotes(PRODUCTION_VALUES)).not.toContain('WARNING');
    expect(folded(readChartFile('values.yaml'))).toContain(
      'any pod in the cluster can call the gateway directly with a forged X-Forwarded-For',
    );
  });

  it('say, like the README, that the image has to be built and pushed', () => {
    const build = 'docker build -f deploy/Dockerfile -t <registry>/cloudflow:<tag> .';
    const point = '--set image.repository=<registry>/cloudflow --set image.tag=<tag>';
    const readme = readChartFile('README.md');
    const install = readme.slice(
      readme.indexOf('## Install'),
      readme.indexOf('## What it creates'),
    );
    expect(install).toContain(build);
    expect(install).toContain('docker push <registry>/cloudflow:<tag>');
    expect(install).toContain(point);
    const notes = renderNotes(REQUIRED_VALUES);
    expect(notes).toContain(build);
    expect(notes).toContain(point);
    // Loaded into the cluster (never pulled), or the production example's own registry.
    expect(renderNotes(LOCAL_VALUES)).not.toContain('docker build');
    expect(renderNotes(PRODUCTION_VALUES)).not.toContain('docker build');
  });
});
