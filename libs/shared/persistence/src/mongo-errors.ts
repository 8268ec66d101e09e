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
