import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository's version, read from its package.json: found by walking up,
 * since this file runs both from apps/cli/src and from dist/apps/cli/src.
 */
export function cliVersion(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'cloudflow' && pkg.version) return pkg.version;
    } catch {
      // Not here: look one level up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
