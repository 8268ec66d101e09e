// The benchmark's input: a deterministic CSV of `rows` records (about 100 bytes each),
// cached in tmp/bench/ and regenerated only when missing or generated for another size.
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_DIR, say } from './util.mjs';

const GENERATOR_VERSION = 1;
export const COLUMNS = ['id', 'name', 'email', 'city', 'amount', 'note'];

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Dennis', 'Margaret', 'Ken'];
const FIRST_INTL = ['José', 'Zoë', 'Łukasz', 'Ünal', 'Björn', 'Chloé', 'Søren', 'Ana'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Ritchie', 'Hamilton'];
const LAST_INTL = ['Müller', 'Şahin', 'Nuñez', 'Ødegaard', 'Dvořák', 'Żółć', 'García'];
const CITIES = ['London', 'New York', 'Berlin', 'Tokyo', 'Lagos', 'Sydney', 'Toronto', 'Lima'];
const CITIES_INTL = ['São Paulo', 'Zürich', 'Kraków', 'İzmir', 'Malmö', 'Reykjavík'];
const CITIES_COMMA = ['Washington, D.C.', 'Paris, France', 'Portland, Oregon'];
const WORDS = [
  'order',
  'shipped',
  'pending',
  'invoice',
  'refund',
  'priority',
  'customer',
  'note',
  'review',
  'express',
  'returned',
  'gift',
];

/** Deterministic PRNG (mulberry32) so every machine benchmarks the same bytes. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function csvField(value) {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function makeRow(id, rand) {
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const intl = rand() < 0.15;
  const first = intl ? pick(FIRST_INTL) : pick(FIRST);
  const last = intl ? pick(LAST_INTL) : pick(LAST);
  const r = rand();
  const city = r < 0.08 ? pick(CITIES_COMMA) : r < 0.2 ? pick(CITIES_INTL) : pick(CITIES);
  const email = `${pick(FIRST).toLowerCase()}.${pick(LAST).toLowerCase()}${id % 997}@example.com`;
  const amount = (rand() * 10000).toFixed(2);
  const words = [];
  for (let i = 3 + Math.floor(rand() * 4); i > 0; i--) words.push(pick(WORDS));
  let note = words.join(' ');
  // Every 10th note: quoted, with doubled quotes and an embedded newline.
  if (id % 10 === 0) note = `Customer said "${pick(WORDS)}"\nfollow up: ${words[0]}`;
  return [String(id), `${first} ${last}`, email, city, amount, note].map(csvField).join(',');
}

/** Answers `{ path, bytes, rows }` of the cached input CSV, generating it when needed. */
export async function ensureInputCsv(rows, name = 'bench') {
  await mkdir(BENCH_DIR, { recursive: true });
  const path = join(BENCH_DIR, `${name}.csv`);
  const metaPath = join(BENCH_DIR, `${name}.csv.json`);
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
      const size = statSync(path).size;
      if (meta.rows === rows && meta.version === GENERATOR_VERSION && meta.bytes === size) {
        say(`input: cached ${path} (${rows} rows, ${size} bytes)`);
        return { path, bytes: size, rows };
      }
    } catch {
      // unreadable metadata: regenerate
    }
  }
  say(`generating ${rows} rows into ${path} ...`);
  const started = Date.now();
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  const rand = prng(20240601);
  out.write(`${COLUMNS.join(',')}\n`);
  const CHUNK = 5000;
  for (let from = 1; from <= rows; from += CHUNK) {
    const lines = [];
    for (let id = from; id < from + CHUNK && id <= rows; id++) lines.push(makeRow(id, rand));
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(tmp, path);
  const bytes = statSync(path).size;
  await writeFile(metaPath, JSON.stringify({ rows, bytes, version: GENERATOR_VERSION }) + '\n');
  say(`generated ${bytes} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { path, bytes, rows };
}

/** A few rows in the same shape, for the latency jobs. */
export function tinyCsv() {
  const rand = prng(7);
  const lines = [COLUMNS.join(',')];
  for (const id of [1, 2, 3, 10, 20]) lines.push(makeRow(id, rand));
  return `${lines.join('\n')}\n`;
}
