import { spawnSync } from 'node:child_process';

/** What deploy/tools/install-deploy-tools prints, and the global set-up exports. */
export const DEPLOY_TOOL_VARIABLES = [
  'HELM',
  'KUBECONFORM',
  'KUBERNETES_VERSION',
  'KUBECONFORM_SCHEMA_LOCATIONS',
];

export interface DeployTools {
  helm: string;
  kubeconform: string;
  /** The Kubernetes version the manifests are rendered for and validated against. */
  kubernetesVersion: string;
  /** kubeconform -schema-location templates: the Kubernetes schemas, then CloudFlow's CRD schemas. */
  schemaLocations: string[];
}

/** The tools the deploy tier's global set-up installed. */
export function deployTools(): DeployTools {
  const env = process.env;
  const missing = DEPLOY_TOOL_VARIABLES.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: run the deploy tier (jest -c jest.deploy.config.js), whose global set-up installs the tools`,
    );
  }
  return {
    helm: env['HELM'] as string,
    kubeconform: env['KUBECONFORM'] as string,
    kubernetesVersion: env['KUBERNETES_VERSION'] as string,
    schemaLocations: (env['KUBECONFORM_SCHEMA_LOCATIONS'] as string).split(';'),
  };
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], input?: string): CommandResult {
  const result = spawnSync(command, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export interface ValidationSummary {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
  /** kubeconform's complaints, one per line. */
  problems: string[];
}

/**
 * Validates Kubernetes manifests (a YAML stream) with kubeconform -strict
 * against the offline schemas: unknown fields, wrong types and missing schemas
 * all count as failures (nothing is skipped).
 */
export function validateManifests(yaml: string): ValidationSummary {
  const tools = deployTools();
  const args = [
    '-strict',
    '-summary',
    '-output',
    'json',
    '-kubernetes-version',
    tools.kubernetesVersion,
    ...tools.schemaLocations.flatMap((location) => ['-schema-location', location]),
  ];
  const result = run(tools.kubeconform, args, yaml);
  const report = JSON.parse(result.stdout) as {
    resources?: { kind: string; name: string; status: string; msg: string }[];
    summary: { valid: number; invalid: number; errors: number; skipped: number };
  };
  return {
    ...report.summary,
    problems: (report.resources ?? [])
      .filter((r) => r.status !== 'statusValid')
      .map((r) => `${r.kind} ${r.name}: ${r.status} ${r.msg}`),
  };
}
