/** Kafka or MongoDB trouble is transient (retry later); anything else is about the job's input. */
export function isInfrastructureError(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return /Kafka|Mongo/i.test(name);
}
