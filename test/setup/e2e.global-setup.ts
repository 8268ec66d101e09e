import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@cloudflow/testing';
import infraSetup from './infra.global-setup';

/** The e2e tier runs the compiled services, so build first, then provide the infrastructure. */
export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [join(REPO_ROOT, 'tools/build.mjs')], { stdio: 'inherit' });
  await infraSetup();
}
