import { AppError, ErrorCode } from '@cloudflow/contracts';
import { ConnectorError } from '@cloudflow/connectors';

/**
 * Trouble that passes — Kafka or MongoDB, a broker that did not answer, a
 * data source that could not be reached — is retried later; anything else
 * is about the job's input or configuration.
 */
export function isInfrastructureError(error: unknown): boolean {
  if (error instanceof ConnectorError) return !error.permanent;
  if (error instanceof AppError) {
    return error.code === ErrorCode.ServiceUnavailable || error.code === ErrorCode.Internal;
  }
  const name = error instanceof Error ? error.name : '';
  return /Kafka|Mongo/i.test(name);
}
