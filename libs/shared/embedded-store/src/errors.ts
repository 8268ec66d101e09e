import type { Doc } from './values';

/** The MongoDB error codes the embedded store answers with, by their codeName. */
export const ERROR_CODES = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CommandNotSupported: 115,
  UnsupportedOpQueryCommand: 352,
  BSONObjectTooLarge: 10334,
  DuplicateKey: 11000,
} as const;

export type ErrorCodeName = keyof typeof ERROR_CODES;

/**
 * A command failure as MongoDB reports it: a numeric code, its codeName and,
 * for some codes, extra fields (a duplicate key's keyPattern and keyValue).
 * Answered to the client as `{ ok: 0, errmsg, code, codeName, ... }`; it never
 * closes the connection.
 */
export class StoreError extends Error {
  readonly code: number;

  constructor(
    readonly codeName: ErrorCodeName,
    message: string,
    readonly extra: Doc = {},
  ) {
    super(message);
    this.name = 'StoreError';
    this.code = ERROR_CODES[codeName];
  }

  /** The fields of a reply (or of one writeErrors entry) describing this error. */
  toReply(): Doc {
    return { errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

export function badValue(message: string): StoreError {
  return new StoreError('BadValue', message);
}

/** Any other failure (a mingo error on an odd query, a bug) as a command error. */
export function asStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // mingo refuses unknown or malformed operators with a MingoError: the request's fault.
  if (error instanceof Error && error.constructor.name === 'MingoError') {
    if (/would create a conflict/i.test(message)) {
      return new StoreError('ConflictingUpdateOperators', message);
    }
    if (/immutable field '_id'/i.test(message)) return new StoreError('ImmutableField', message);
    return badValue(message);
  }
  return new StoreError('InternalError', message);
}
