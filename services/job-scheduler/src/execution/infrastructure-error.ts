import { AppError } from '@cloudflow/contracts';
import { ConnectorError, mayPassOnRetry } from '@cloudflow/connectors';

/**
 * Trouble that passes — Kafka or MongoDB, a broker that did not answer, a
 * data source that could not be reached — is retried later; anything else
 * is about the job's input or configuration.
 */
export function isInfrastructureError(error: unknown): boolean {
  if (error instanceof ConnectorError || error instanceof AppError) return mayPassOnRetry(error);
  const name = error instanceof Error ? error.name : '';
  return /Kafka|Mongo/i.test(name);
}
