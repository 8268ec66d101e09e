/**
 * A connector failure that says whether retrying can help: permanent errors
 * (missing objects, refused credentials, changed versions) fail a job at once,
 * the others (network errors, timeouts, server errors) are worth retrying.
 */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';

  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}
