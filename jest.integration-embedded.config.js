// The store contract: the repository suites of the integration tier, unchanged,
// against the embedded store of standalone mode instead of FerretDB. The
// integration tier runs them against FerretDB; together they hold both
// adapters of the store port to one contract (ADR 0013).
const integration = require('./jest.integration.config');

const REPOSITORY_SUITES = [
  'libs/shared/persistence/src/tenant.repository',
  'libs/shared/persistence/src/reseal',
  'libs/shared/job-store/src/task-ledger',
  'libs/shared/job-store/src/jobs.repository',
  'libs/shared/job-store/src/row-store',
  'libs/shared/job-store/src/job-log.repository',
  'services/gateway/src/rate-limit/shared-window.store',
  'services/auth/src/oauth/oauth.store',
  'services/auth/src/api-keys/api-keys.repository',
  'services/pipeline-registry/src/pipelines/pipelines.repository',
];

module.exports = {
  ...integration,
  displayName: 'store-contract (embedded)',
  testMatch: REPOSITORY_SUITES.map((path) => `<rootDir>/${path}.int-spec.ts`),
  globalSetup: '<rootDir>/test/setup/embedded-store.global-setup.ts',
};
