// End-to-end tier: every service as its own OS process against the real
// infrastructure, driven through the public HTTP API only.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'e2e',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e-spec.ts'],
  // Standalone mode's own suite (restarts, the README's first command) runs in
  // the standalone tier (jest.e2e-standalone.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/e2e/standalone\\.e2e-spec\\.ts$'],
  globalSetup: '<rootDir>/test/setup/e2e.global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/infra.global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 1,
};
