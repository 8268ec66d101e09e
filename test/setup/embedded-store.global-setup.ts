import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedStore } from '@cloudflow/embedded-store';

/**
 * The store contract tier's set-up: the repository suites get CloudFlow's
 * embedded store (standalone mode's adapter) as their MongoDB-wire server,
 * in a directory of its own, instead of FerretDB.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cloudflow-store-contract-'));
  const store = await startEmbeddedStore({ dir });
  process.env['MONGO_URL'] = store.url;
  process.stdout.write(`\nstore contract: the embedded store at ${store.url}\n`);
  (globalThis as { __cloudflowInfraStop?: () => Promise<void> }).__cloudflowInfraStop =
    async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
}
