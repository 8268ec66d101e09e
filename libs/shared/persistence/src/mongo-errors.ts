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
