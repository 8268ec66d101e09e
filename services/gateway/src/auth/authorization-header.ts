/** The credential an `Authorization` header carries, if its scheme is one CloudFlow accepts. */
export type Credential = { scheme: 'ApiKey'; value: string } | { scheme: 'Bearer'; value: string };

export type ParsedAuthorization =
  | { ok: true; credential: Credential }
  | { ok: false; reason: string };

const MAX_CREDENTIAL_LENGTH = 4096;

/** Parses `ApiKey <key>` or `Bearer <token>`; scheme names are case-insensitive (RFC 9110). */
export function parseAuthorization(header: string | string[] | undefined): ParsedAuthorization {
  if (header === undefined || header === '') {
    return {
      ok: false,
      reason:
        "Missing Authorization header; send 'Authorization: ApiKey <key>' or 'Bearer <token>'",
    };
  }
  if (Array.isArray(header)) return { ok: false, reason: 'Send exactly one Authorization header' };
  const [, rawScheme, value] = /^([A-Za-z]+) +(\S+) *$/.exec(header) ?? [];
  if (rawScheme === undefined || value === undefined) {
    return {
      ok: false,
      reason: "Malformed Authorization header; expected '<scheme> <credential>'",
    };
  }
  const scheme = rawScheme.toLowerCase();
  if (value.length > MAX_CREDENTIAL_LENGTH)
    return { ok: false, reason: 'The credential is too long' };
  if (scheme === 'apikey') return { ok: true, credential: { scheme: 'ApiKey', value } };
  if (scheme === 'bearer') return { ok: true, credential: { scheme: 'Bearer', value } };
  return {
    ok: false,
    reason: `Unsupported authorization scheme '${rawScheme.slice(0, 20)}'; use ApiKey or Bearer`,
  };
}
