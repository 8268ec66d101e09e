// `npm start`: CloudFlow in standalone mode on a fresh clone, with nothing but
// Node 20: installs dependencies when node_modules is missing, builds, starts
// the six services in one process (in-process transport, embedded store under
// CLOUDFLOW_HOME, default ~/.local/share/cloudflow), runs the published
// example (pipeline, job on /fake/data.csv, status, result rows) and keeps
// running with the API key to use printed. Ctrl-C stops it.
//
//   npm start                 # the above
//   npm start -- --no-example # start only
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const say = (line) => process.stdout.write(`[cloudflow] ${line}\n`);

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  say(`Node ${process.versions.node} is too old: CloudFlow needs Node 20.19 or later`);
  process.exit(1);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`${command} ${args.join(' ')} failed`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules'))) {
  say('installing dependencies (npm ci)');
  run(npm, ['ci', '--no-audit', '--no-fund']);
}
run(process.execPath, ['tools/build.mjs']);

const args = process.argv.slice(2);
const child = spawn(
  process.execPath,
  [
    '--enable-source-maps',
    'dist/apps/standalone/src/main.js',
    ...(args.includes('--no-example') ? [] : ['--example']),
  ],
  { cwd: root, stdio: 'inherit' },
);
// The server stops cleanly on either signal (a terminal's Ctrl-C reaches both processes).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
