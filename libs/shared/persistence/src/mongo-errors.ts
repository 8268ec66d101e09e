import type { Connection, mongo } from 'mongoose';
const DUPLICATE_KEY = 11000;

/** A write refused by a unique index: the one compare-and-set both MongoDB and FerretDB guarantee. */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, writeErrors } = error as { code?: number; writeErrors?: { code?: number }[] };
  return (
    code === DUPLICATE_KEY ||
    (Array.isArray(writeErrors) && writeErrors.some((e) => e.code === DUPLICATE_KEY))
  );
}

/** The driver's database handle of an open mongoose connection. */
export function databaseOf(connection: Connection): mongo.Db {
  if (!connection.db) throw new Error('MongoDB connection is not open');
  return connection.db;
}

/**
 * Inserts documents with unique `_id`s, skipping those already present (a
 * batch written again after a lost reply, a retried task). Any other refusal
 * is thrown.
 */
export async function insertIgnoringDuplicates<T extends mongo.Document>(
  collection: mongo.Collection<T>,
  docs: mongo.OptionalUnlessRequiredId<T>[],
): Promise<void> {
  if (docs.length === 0) return;
  try {
    await collection.insertMany(docs, { ordered: false });
  } catch (error) {
    if (!isOnlyDuplicates(error)) throw error;
  }
}

function isOnlyDuplicates(error: unknown): boolean {
  if (!isDuplicateKeyError(error)) return false;
  const { writeErrors } = error as { writeErrors?: { code?: number }[] };
  return !Array.isArray(writeErrors) || writeErrors.every((e) => e.code === DUPLICATE_KEY);
}
