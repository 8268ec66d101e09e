import { provideDatabases, provideInfra } from '@cloudflow/testing';

/**
 * Runs once before the integration and e2e tiers: makes real Kafka (with a
 * SASL listener), a MongoDB-wire server, PostgreSQL, MariaDB and an
 * S3-compatible server available and exports their endpoints to the test
 * workers through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const infra = await provideInfra();
  process.env['KAFKA_BROKERS'] = infra.kafkaBrokers;
  process.env['MONGO_URL'] = infra.mongoUrl;
  // Kafka's SASL listener and its test user, for the tests of clients that authenticate.
  if (infra.kafkaSasl) Object.assign(process.env, infra.kafkaSasl);
  const sasl = infra.kafkaSasl ? ` (SASL ${infra.kafkaSasl.KAFKA_SASL_TEST_BROKERS})` : '';
  process.stdout.write(
    `\ninfrastructure (${infra.origin}): kafka ${infra.kafkaBrokers}${sasl}, mongo ${infra.mongoUrl}\n`,
  );
  (globalThis as { __cloudflowInfraStop?: () => Promise<void> }).__cloudflowInfraStop = infra.stop;
  // Connector tests reach real PostgreSQL, MariaDB, S3 and password-checking MongoDB-wire servers.
  Object.assign(process.env, await provideDatabases());
}
