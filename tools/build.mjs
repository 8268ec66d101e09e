// Compiles services/, apps/, libs/ and the TypeScript commands of tools/ to dist/ with
// SWC (decorator metadata included, as NestJS needs it), rewriting @cloudflow/*
// imports to relative paths so the output runs with plain `node`.
// Type-checking is `npm run typecheck`'s job.
//
//   node tools/build.mjs            # into dist/
//   node tools/build.mjs tmp/<dir>  # elsewhere under tmp/: a command run next to live
//                                   # services (secrets:reseal) must not replace their dist/
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(root, process.argv[2] ?? 'dist');
if (outDir !== join(root, 'dist') && !outDir.startsWith(join(root, 'tmp') + '/')) {
  // The directory is emptied first: only dist/ or one under tmp/.
  throw new Error(`build output must be dist/ or a directory under tmp/, not ${outDir}`);
}
const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* sources(path);
    } else if (
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.spec.ts') &&
      !entry.name.endsWith('.d.ts')
    ) {
      yield path;
    }
  }
}

const started = Date.now();
await rm(outDir, { recursive: true, force: true });
let count = 0;
const jobs = [];
for (const top of ['libs', 'services', 'apps', 'tools']) {
  for await (const file of sources(join(root, top))) {
    jobs.push(
      (async () => {
        const out = await transformFile(file, {
          sourceMaps: true,
          module: { type: 'commonjs' },
          jsc: {
            target: 'es2022',
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            baseUrl: root,
            paths: compilerOptions.paths,
            keepClassNames: true,
          },
        });
        const target = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
        await mkdir(dirname(target), { recursive: true });
        await writeFile(
          target,
          `${out.code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`,
        );
        if (out.map) await writeFile(`${target}.map`, out.map);
        count++;
      })(),
    );
  }
}
await Promise.all(jobs);
console.log(`built ${count} files into ${relative(root, outDir)}/ in ${Date.now() - started} ms`);
