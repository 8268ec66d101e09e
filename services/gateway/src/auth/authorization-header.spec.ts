import { parseAuthorization } from './authorization-header';

const MISSING =
  "Missing Authorization header; send 'Authorization: ApiKey <key>' or 'Bearer <token>'";
const MALFORMED = "Malformed Authorization header; expected '<scheme> <credential>'";

describe('parseAuthorization', () => {
  it('reads the API key of the published example', () => {
    expect(parseAuthorization('ApiKey FAKE-API-KEY-123456')).toEqual({
      ok: true,
      credential: { scheme: 'ApiKey', value: 'FAKE-API-KEY-123456' },
    });
  });

  it('reads the bearer token of the published example', () => {
    expect(parseAuthorization('Bearer FAKE-TOKEN-ABCDEF')).toEqual({
      ok: true,
      credential: { scheme: 'Bearer', value: 'FAKE-TOKEN-ABCDEF' },
    });
  });

  it.each([
    ['apikey k1', 'ApiKey'],
    ['APIKEY k1', 'ApiKey'],
    ['aPiKeY k1', 'ApiKey'],
    ['bearer k1', 'Bearer'],
    ['BEARER k1', 'Bearer'],
  ] as const)('treats the scheme of %p case-insensitively', (header, scheme) => {
    expect(parseAuthorization(header)).toEqual({ ok: true, credential: { scheme, value: 'k1' } });
  });

  it('keeps the case of the credential', () => {
    expect(parseAuthorization('ApiKey AbC-dEf')).toEqual({
      ok: true,
      credential: { scheme: 'ApiKey', value: 'AbC-dEf' },
    });
  });

  it('tolerates extra spaces between scheme and credential and after it', () => {
    expect(parseAuthorization('ApiKey   k1  ')).toEqual({
      ok: true,
      credential: { scheme: 'ApiKey', value: 'k1' },
    });
  });

  it.each([undefined, ''])('refuses a missing header (%p)', (header) => {
    expect(parseAuthorization(header)).toEqual({ ok: false, reason: MISSING });
  });

  it.each([
    ['a scheme alone', 'ApiKey'],
    ['a scheme and a space', 'ApiKey '],
    ['a credential alone', 'FAKE-API-KEY-123456'],
    ['two credentials', 'ApiKey one two'],
    ['a leading space', ' ApiKey k1'],
    ['a tab as separator', 'ApiKey\tk1'],
    ['a colon after the scheme', 'ApiKey: k1'],
    ['a digit in the scheme', 'Api2Key k1'],
  ])('refuses a header with %s as malformed', (_label, header) => {
    expect(parseAuthorization(header)).toEqual({ ok: false, reason: MALFORMED });
  });

  it('refuses an unsupported scheme, naming it', () => {
    expect(parseAuthorization('Basic dXNlcjpwYXNz')).toEqual({
      ok: false,
      reason: "Unsupported authorization scheme 'Basic'; use ApiKey or Bearer",
    });
  });

  it('cuts a long unsupported scheme name short in the reason', () => {
    const scheme = 'X'.repeat(500);
    const result = parseAuthorization(`${scheme} k1`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(
        `Unsupported authorization scheme '${'X'.repeat(20)}'; use ApiKey or Bearer`,
      );
    }
  });

  it('never echoes the credential in a reason', () => {
    for (const header of [
      'Basic hunter2-secret',
      'ApiKey hunter2-secret extra',
      `ApiKey hunter2-secret${'x'.repeat(5000)}`,
    ]) {
      const result = parseAuthorization(header);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toContain('hunter2');
    }
  });

  it('refuses a duplicated header', () => {
    expect(parseAuthorization(['ApiKey k1', 'ApiKey k2'])).toEqual({
      ok: false,
      reason: 'Send exactly one Authorization header',
    });
  });

  it('accepts a credential of 4096 characters and refuses one of 4097', () => {
    const longest = 'k'.repeat(4096);
    expect(parseAuthorization(`ApiKey ${longest}`)).toEqual({
      ok: true,
      credential: { scheme: 'ApiKey', value: longest },
    });
    expect(parseAuthorization(`Bearer ${longest}k`)).toEqual({
      ok: false,
      reason: 'The credential is too long',
    });
  });
});
