import type { AppError } from '@cloudflow/contracts';

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

/**
 * Whether retrying may help, for the scheduler and workers alike: a
 * ConnectorError says so itself; another service's answer does when it is a
 * 5xx (it did not answer in time, or failed inside), never for a 4xx (a
 * deleted data source, a string that no longer parses).
 */
export function mayPassOnRetry(error: ConnectorError | AppError): boolean {
  return error instanceof ConnectorError ? !error.permanent : error.code >= 5000;
}
