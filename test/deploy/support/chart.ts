import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, SERVICE_NAMES, type ServiceName } from '@cloudflow/testing';
import { deployTools, run, type CommandResult } from './deploy-tools';

export { REPO_ROOT };
export const CHART_DIR = join(REPO_ROOT, 'charts', 'cloudflow');
export const RELEASE = 'cf';
export const NAMESPACE = 'cloudflow';
/** Object names are <release>-<chart>-<suffix>. */
export const FULLNAME = `${RELEASE}-cloudflow`;

export const SERVICES = SERVICE_NAMES;
export type { ServiceName };

/** The values without defaults: the external Kafka and MongoDB and the API's host. */
export const REQUIRED_VALUES = [
  '--set',
  'kafka.brokers=kafka-0.kafka.example.com:9092',
  '--set',
  'mongodb.url=mongodb://mongo.example.com:27017/cloudflow',
  '--set',
  'ingress.host=cloudflow.example.com',
];
export const LOCAL_VALUES = ['-f', join(CHART_DIR, 'values-local.yaml')];
export const PRODUCTION_VALUES = ['-f', join(CHART_DIR, 'examples', 'values-production.yaml')];

export type Labels = Record<string, string>;

export interface Metadata {
  name: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  exec?: { command: string[] };
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type: string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext & { fsGroup?: number };
  initContainers?: Container[];
  containers: Container[];
  volumes?: {
    name: string;
    emptyDir?: object;
    persistentVolumeClaim?: { claimName: string };
  }[];
}

export interface Workload {
  replicas?: number;
  selector: LabelSelector;
  template: { metadata: Metadata; spec: PodSpec };
  volumeClaimTemplates?: { metadata: Metadata; spec: object }[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}

export interface NetworkPolicyRule {
  ports?: { port: string | number; protocol?: string }[];
  from?: NetworkPolicyPeer[];
}

/** A rendered object; `spec` is read through the typed accessors below. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: unknown;
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

export interface Rendered {
  yaml: string;
  manifests: Manifest[];
}

export function helm(args: string[]): CommandResult {
  return run(deployTools().helm, args);
}

function templateArgs(values: string[], chart = CHART_DIR, release = RELEASE): string[] {
  return [
    'template',
    release,
    chart,
    '--namespace',
    NAMESPACE,
    '--kube-version',
    deployTools().kubernetesVersion,
    ...values,
  ];
}

/**
 * `helm template` with these value arguments (release RELEASE unless given); throws with helm's
 * message when it fails.
 */
export function render(values: string[], chart = CHART_DIR, release = RELEASE): Rendered {
  const result = helm(templateArgs(values, chart, release));
  if (result.status !== 0) {
    throw new Error(`helm template ${values.join(' ')} failed:\n${result.stderr}`);
  }
  const manifests = parseAllDocuments(result.stdout, { uniqueKeys: true })
    .map((doc) => {
      if (doc.errors.length > 0)
        throw new Error(`helm template ${values.join(' ')}: ${doc.errors[0]}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
  return { yaml: result.stdout, manifests };
}

/**
 * The install notes (NOTES.txt) for these values. `helm template` leaves them out and
 * `helm install --dry-run` needs a cluster, so a copy of the chart renders them into an object
 * with `tpl` (templates/ is out of reach of .Files, hence the copy beside it).
 */
export function renderNotes(values: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloudflow-chart-'));
  try {
    const chart = join(dir, 'cloudflow');
    cpSync(CHART_DIR, chart, { recursive: true });
    cpSync(join(chart, 'templates', 'NOTES.txt'), join(chart, 'notes', 'NOTES.txt'));
    writeFileSync(
      join(chart, 'templates', 'zz-rendered-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rendered-notes\ndata:\n' +
        '  NOTES.txt: {{ tpl (.Files.Get "notes/NOTES.txt") . | quote }}\n',
    );
    const notes = named(render(values, chart), 'ConfigMap', 'rendered-notes').data?.['NOTES.txt'];
    if (!notes) throw new Error('NOTES.txt rendered empty');
    return notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` that must fail: its error output. */
export function renderFailure(values: string[], release = RELEASE): string {
  const result = helm(templateArgs(values, CHART_DIR, release));
  if (result.status === 0) {
    throw new Error(`helm template ${values.join(' ')} succeeded but should have failed`);
  }
  return result.stderr;
}

export function ofKind(rendered: Rendered, kind: string): Manifest[] {
  return rendered.manifests.filter((m) => m.kind === kind);
}

export function named(rendered: Rendered, kind: string, name: string): Manifest {
  const found = rendered.manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} rendered`);
  return found;
}

/** The first item, which the test needs to exist. */
export function first<T>(items: readonly T[] | undefined, what: string): T {
  const item = items?.[0];
  if (item === undefined) throw new Error(`no ${what}`);
  return item;
}

/** The pod's (only) application container. */
export function mainContainer(pod: PodSpec): Container {
  return first(pod.containers, 'container');
}

export function workload(manifest: Manifest): Workload {
  return manifest.spec as Workload;
}

export function deploymentOf(rendered: Rendered, service: ServiceName): Workload {
  return workload(named(rendered, 'Deployment', `${FULLNAME}-${service}`));
}

export function containerOf(rendered: Rendered, service: ServiceName): Container {
  return mainContainer(deploymentOf(rendered, service).template.spec);
}

export function envOf(container: Container, name: string): EnvVar | undefined {
  return container.env?.find((e) => e.name === name);
}

/** True when a label selector selects an object with these labels. */
export function selects(selector: LabelSelector, labels: Labels): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabels && byExpressions;
}

/** The pod labels of every workload (Deployments and StatefulSets) rendered, by object name. */
export function podLabels(rendered: Rendered): Map<string, Labels> {
  return new Map(
    rendered.manifests
      .filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet')
      .map((m) => [m.metadata.name, workload(m).template.metadata.labels ?? {}]),
  );
}
