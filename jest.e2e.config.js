// End-to-end tier: every service as its own OS process against the real
// infrastructure, driven through the public HTTP API only.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'e2e',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/setup/e2e.global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/infra.global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 1,
};
