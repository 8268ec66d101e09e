/**
 * Whether a client may be sent back to `requested`.
 *
 * Byte for byte against a registered URI (RFC 9700 2.1), with the one
 * exception RFC 8252 7.3 requires: a native app on the user's machine (a
 * public client, such as the cloudflow CLI) listens on a port the system
 * gives it at run time, so for a registered loopback IP literal —
 * `http://127.0.0.1/...` or `http://[::1]/...` — any port is accepted, and
 * everything else (scheme, host, path, query) must still be identical.
 * `localhost` is not a loopback IP literal (a name can resolve elsewhere,
 * RFC 8252 8.3) and stays exact, as do confidential clients' URIs.
 */
export function isAllowedRedirectUri(
  client: { type: 'public' | 'confidential'; redirectUris: readonly string[] },
  requested: string,
): boolean {
  if (client.redirectUris.includes(requested)) return true;
  if (client.type !== 'public') return false;
  const wanted = withoutLoopbackPort(requested);
  if (wanted === undefined) return false;
  return client.redirectUris.some((registered) => withoutLoopbackPort(registered) === wanted);
}

/**
 * `http://127.0.0.1:51234/callback?x=1` -> `http://127.0.0.1/callback?x=1`;
 * undefined for anything that is not an http URI on a loopback IP literal.
 * Read as text, not through URL parsing, so that nothing is normalised away
 * (case, dot segments, percent-encoding, default ports) before comparing.
 */
function withoutLoopbackPort(uri: string): string | undefined {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::([1-9][0-9]{0,4}))?(\/[^#]*)?$/.exec(uri);
  if (!match) return undefined;
  const [, host, port, rest] = match;
  if (port !== undefined && Number(port) > 65_535) return undefined;
  return `http://${host}${rest ?? ''}`;
}
