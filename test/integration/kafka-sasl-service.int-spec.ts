import type { INestApplication } from '@nestjs/common';
import { TransportReadiness } from '@cloudflow/messaging';
import { startComposedService } from '@cloudflow/runtime';
import { pipelineRegistryService } from '@cloudflow/service-pipeline-registry';
import { testEnv, uniqueName, withDatabase } from '@cloudflow/testing';

/**
 * A service on a Kafka that wants SASL, configured as the Helm chart
 * configures it (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and
 * KAFKA_SASL_PASSWORD next to KAFKA_BROKERS): every Kafka client it makes
 * goes through the test broker's SASL listener, which refuses clients that
 * do not sign in — the admin client that checks its topics at boot, its RPC
 * server's consumer, its readiness probe. (A wrong password is refused at
 * once: libs/shared/messaging/src/kafka-sasl.int-spec.ts.)
 *
 * The service joins its real consumer group (cloudflow.pipeline-registry),
 * as test/integration/job-trace.int-spec.ts does: run it when no CloudFlow
 * stack uses the same Kafka.
 */
describe('a service on Kafka with SASL', () => {
  let app: INestApplication | undefined;

  afterAll(async () => {
    await app?.close();
  });

  it('starts (topics checked, RPC server consuming) and answers its readiness probe', async () => {
    // The chart's default mechanism where the test broker offers it.
    const offered = (process.env['KAFKA_SASL_TEST_MECHANISMS'] ?? '').split(',');
    app = await startComposedService(pipelineRegistryService, {
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        MONGO_URL: withDatabase(testEnv('MONGO_URL'), uniqueName('it_sasl')),
        KAFKA_BROKERS: testEnv('KAFKA_SASL_TEST_BROKERS'),
        KAFKA_SASL_MECHANISM: offered.includes('scram-sha-512') ? 'scram-sha-512' : 'plain',
        KAFKA_SASL_USERNAME: testEnv('KAFKA_SASL_TEST_USERNAME'),
        KAFKA_SASL_PASSWORD: testEnv('KAFKA_SASL_TEST_PASSWORD'),
      },
      listen: false,
    });
    await expect(app.get(TransportReadiness).check()).resolves.toBeUndefined();
  });
});
