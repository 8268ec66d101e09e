import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DEPLOY_TOOL_VARIABLES } from '../deploy/support/deploy-tools';

/**
 * Runs once before the deploy tier: installs helm, kubeconform and the Kubernetes
 * JSON schemas into the cache outside the repository (minutes the first time,
 * instant afterwards) and hands their paths to the test workers through the
 * environment.
 */
export default function globalSetup(): void {
  const installer = join(__dirname, '..', '..', 'deploy', 'tools', 'install-deploy-tools');
  // Progress goes to stderr (shown); the settings come on stdout as KEY=value lines.
  const settings = execFileSync('bash', [installer, 'env'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for (const line of settings.split('\n')) {
    const [, name, value] = /^([A-Z_]+)=(.*)$/.exec(line.trim()) ?? [];
    if (name === undefined || value === undefined || !DEPLOY_TOOL_VARIABLES.includes(name))
      continue;
    process.env[name] = value.replace(/^'(.*)'$/, '$1');
  }
  const missing = DEPLOY_TOOL_VARIABLES.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`deploy/tools/install-deploy-tools printed no ${missing.join(', ')}`);
  }
  process.stdout.write(`\ndeploy tools: ${process.env['HELM']}, ${process.env['KUBECONFORM']}\n`);
}
