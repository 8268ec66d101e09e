// One engine measurement in a process of its own, so its peak RSS is its own:
//   node tools/bench/engine-child.mjs parse|engine <input.csv> [<output part>]
// Prints one JSON line: { mode, rows, seconds, peakRssKb }.
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, procStatus } from './util.mjs';

const engine = createRequire(import.meta.url)(join(ROOT, 'dist/libs/shared/engine/src/index.js'));
const input = { format: 'csv', csv: { delimiter: ',', quote: '"', header: true } };
const [mode, path, partPath] = process.argv.slice(2);

const header = await engine.readHeader(path, input);
const range = {
  start: header.dataStart,
  end: statSync(path).size,
  firstLine: header.firstDataLine,
};
let rows = 0;
const started = process.hrtime.bigint();
if (mode === 'parse') {
  for await (const batch of engine.readRange(path, range, input, header.columns, {
    batchRows: 2000,
  })) {
    rows += batch.rows.length;
  }
} else if (mode === 'engine') {
  const counts = await engine.runRangeTask({
    source: path,
    range,
    input,
    columns: header.columns,
    transform: engine.compileTransforms([{ operation: 'uppercase' }]),
    sink: new engine.FilePartSink(partPath, 'csv'),
    rejects: { write: async () => undefined },
    policy: { mode: 'fail' },
  });
  rows = counts.rowsWritten;
} else {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const peakRssKb = procStatus(process.pid)?.VmHWM ?? process.resourceUsage().maxRSS;
if (partPath) await rm(partPath, { force: true });
process.stdout.write(JSON.stringify({ mode, rows, seconds, peakRssKb }) + '\n');
