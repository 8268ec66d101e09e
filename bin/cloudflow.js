#!/usr/bin/env node
'use strict';
// The cloudflow command. The CLI is TypeScript compiled by `npm run build`
// into dist/; this shim only finds it, so that `npm link` and `npx cloudflow`
// work from a checkout.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('cloudflow: the CLI is not built: run `npm run build` first\n');
  process.exit(1);
}

// Piped into `head` and the like: stop quietly once the reader has gone.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      // Exit explicitly: a command may leave idle sockets or timers behind.
      process.stdout.write('', () => process.exit(code));
    },
    (error) => {
      process.stderr.write(`cloudflow: ${error && error.message ? error.message : error}\n`);
      process.exit(1);
    },
  );
