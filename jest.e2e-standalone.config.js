// End-to-end tier against standalone mode: the API suites of the e2e tier,
// unchanged, against one CloudFlow process on the in-process transport and
// the embedded store (CLOUDFLOW_E2E_MODE=standalone, read by the harness in
// test/e2e/support/stack.ts). Suites about processes — killed or frozen
// workers, replicas, Kafka replays, two gateways — are the distributed tier's.
process.env.CLOUDFLOW_E2E_MODE = 'standalone';

const e2e = require('./jest.e2e.config');

const API_SUITES = [
  'api-docs',
  'api-keys',
  'pipelines-api',
  'jobs-api',
  'datasources-api',
  'oauth',
  'tenant-isolation',
  'connector-jobs',
  'standalone',
  'cli',
  'metrics',
];

module.exports = {
  ...e2e,
  displayName: 'e2e-standalone',
  testMatch: API_SUITES.map((name) => `**/${name}.e2e-spec.ts`),
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};
