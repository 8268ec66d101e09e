import { isAllowedRedirectUri } from './redirect-uri';

const publicClient = (redirectUris: string[]) => ({ type: 'public' as const, redirectUris });
const confidentialClient = (redirectUris: string[]) => ({
  type: 'confidential' as const,
  redirectUris,
});

describe('isAllowedRedirectUri', () => {
  it('accepts a registered URI exactly as registered, for any client', () => {
    for (const client of [publicClient, confidentialClient]) {
      expect(
        isAllowedRedirectUri(client(['https://app.example.com/cb']), 'https://app.example.com/cb'),
      ).toBe(true);
      expect(
        isAllowedRedirectUri(client(['http://127.0.0.1:9999/cb']), 'http://127.0.0.1:9999/cb'),
      ).toBe(true);
    }
  });

  describe("a public client's loopback IP URI (RFC 8252 7.3)", () => {
    it.each([
      ['registered without a port', 'http://127.0.0.1/callback', 'http://127.0.0.1:51234/callback'],
      [
        'registered with another port',
        'http://127.0.0.1:9999/callback',
        'http://127.0.0.1:51234/callback',
      ],
      ['requested without a port', 'http://127.0.0.1:9999/callback', 'http://127.0.0.1/callback'],
      ['on IPv6 [::1]', 'http://[::1]/callback', 'http://[::1]:60000/callback'],
      ['with a query', 'http://127.0.0.1/cb?app=cli', 'http://127.0.0.1:3000/cb?app=cli'],
      ['without a path', 'http://127.0.0.1', 'http://127.0.0.1:3000'],
      ['on the highest port', 'http://127.0.0.1/callback', 'http://127.0.0.1:65535/callback'],
    ])('accepts any port: %s', (_case, registered, requested) => {
      expect(isAllowedRedirectUri(publicClient([registered]), requested)).toBe(true);
    });

    it.each([
      ['a trailing slash', 'http://127.0.0.1:51234/callback/'],
      ['another path', 'http://127.0.0.1:51234/other'],
      ['a dot segment', 'http://127.0.0.1:51234/x/../callback'],
      ['another query', 'http://127.0.0.1:51234/callback?next=/admin'],
      ['a fragment', 'http://127.0.0.1:51234/callback#x'],
      ['another loopback host', 'http://[::1]:51234/callback'],
      ['another loopback address', 'http://127.0.0.2:51234/callback'],
      ['another scheme', 'https://127.0.0.1:51234/callback'],
      ['an upper-case scheme', 'HTTP://127.0.0.1:51234/callback'],
      ['a name that starts like the address', 'http://127.0.0.1.evil.test:51234/callback'],
      ['user info before another host', 'http://127.0.0.1:51234@evil.test/callback'],
      ['an empty port', 'http://127.0.0.1:/callback'],
      ['port 0', 'http://127.0.0.1:0/callback'],
      ['a port with a leading zero', 'http://127.0.0.1:08080/callback'],
      ['a port out of range', 'http://127.0.0.1:65536/callback'],
    ])('still refuses %s', (_case, requested) => {
      expect(isAllowedRedirectUri(publicClient(['http://127.0.0.1/callback']), requested)).toBe(
        false,
      );
    });

    it('matches only the registered URIs it was given', () => {
      const client = publicClient(['http://127.0.0.1/a', 'http://[::1]/b']);

      expect(isAllowedRedirectUri(client, 'http://127.0.0.1:1234/a')).toBe(true);
      expect(isAllowedRedirectUri(client, 'http://[::1]:1234/b')).toBe(true);
      expect(isAllowedRedirectUri(client, 'http://127.0.0.1:1234/b')).toBe(false);
      expect(isAllowedRedirectUri(client, 'http://[::1]:1234/a')).toBe(false);
    });
  });

  it('keeps `localhost` exact: a name is not a loopback IP literal (RFC 8252 8.3)', () => {
    const client = publicClient(['http://localhost/callback', 'http://localhost:8080/cb']);

    expect(isAllowedRedirectUri(client, 'http://localhost:51234/callback')).toBe(false);
    expect(isAllowedRedirectUri(client, 'http://localhost:8081/cb')).toBe(false);
    expect(isAllowedRedirectUri(client, 'http://localhost:8080/cb')).toBe(true);
  });

  it("keeps a confidential client's loopback URI exact, port included", () => {
    const client = confidentialClient(['http://127.0.0.1/callback', 'http://127.0.0.1:9999/cb']);

    expect(isAllowedRedirectUri(client, 'http://127.0.0.1:51234/callback')).toBe(false);
    expect(isAllowedRedirectUri(client, 'http://127.0.0.1:9998/cb')).toBe(false);
    expect(isAllowedRedirectUri(client, 'http://127.0.0.1:9999/cb')).toBe(true);
  });

  it('never lends the loopback rule to https or other hosts', () => {
    const client = publicClient(['https://app.example.com/cb']);

    expect(isAllowedRedirectUri(client, 'https://app.example.com:8443/cb')).toBe(false);
  });
});
