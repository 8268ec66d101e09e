// `npm run secrets:reseal`: step 3 of rotating CLOUDFLOW_SECRET_KEY
// (docs/operations/secret-key-rotation.md). Re-seals every sealed value of
// the database in MONGO_URL with CLOUDFLOW_SECRET_KEY, opening old values
// with CLOUDFLOW_SECRET_KEY_PREVIOUS. Prints counts and key ids, never a key
// or a secret; exits 1 when anything fails, 2 when values changed meanwhile
// (run it again: only a run that exits 0 says every value is current).
import mongoose from 'mongoose';
import { MongoEnvSchema, SecretKeyEnvSchema, loadConfig } from '@cloudflow/config';
import { SecretBox, databaseOf, resealAll, type ResealCounts } from '@cloudflow/persistence';

const ResealEnvSchema = MongoEnvSchema.extend(SecretKeyEnvSchema.shape);

async function main(): Promise<void> {
  const config = loadConfig(ResealEnvSchema);
  const box = new SecretBox(config.CLOUDFLOW_SECRET_KEY, config.CLOUDFLOW_SECRET_KEY_PREVIOUS);
  const connection = await mongoose
    .createConnection(config.MONGO_URL, { serverSelectionTimeoutMS: 5_000 })
    .asPromise();
  try {
    const counts = await resealAll(databaseOf(connection), box);
    for (const line of report(counts, box.keyId)) console.log(line);
    // Exit 2 until a run finds every value current: step 4 may be automated on the exit code.
    if (counts.some((c) => c.skipped > 0)) process.exitCode = 2;
  } finally {
    await connection.close();
  }
}

/** One line per sealed field, then the total and the key id every value is now sealed under. */
function report(counts: ResealCounts[], keyId: string): string[] {
  const total = counts.reduce(
    (sum, c) => ({
      resealed: sum.resealed + c.resealed,
      alreadyCurrent: sum.alreadyCurrent + c.alreadyCurrent,
      skipped: sum.skipped + c.skipped,
    }),
    { resealed: 0, alreadyCurrent: 0, skipped: 0 },
  );
  const width = Math.max(...counts.map((c) => `${c.collection}.${c.field}`.length));
  const lines = counts.map((c) => `${`${c.collection}.${c.field}`.padEnd(width)}  ${summary(c)}`);
  lines.push(`${'total'.padEnd(width)}  ${summary(total)} (current key id ${keyId})`);
  // Skipped values were written by a service meanwhile; a second run confirms them.
  if (total.skipped > 0) lines.push('some values changed while re-sealing: run it again');
  return lines;
}

function summary(c: Pick<ResealCounts, 'resealed' | 'alreadyCurrent' | 'skipped'>): string {
  return `${c.resealed} re-sealed, ${c.alreadyCurrent} already current, ${c.skipped} skipped`;
}

main().catch((error: unknown) => {
  // ConfigError names variables, SecretBox names key ids, resealAll names documents: no values.
  console.error(`secrets:reseal failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
