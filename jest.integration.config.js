// Integration tier: repositories and messaging against a real Kafka broker and
// a real MongoDB-wire server (see libs/shared/testing); test/integration holds
// the suites that compose several services in the test process.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'integration',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/apps', '<rootDir>/test/integration'],
  testMatch: ['**/*.int-spec.ts'],
  globalSetup: '<rootDir>/test/setup/infra.global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/infra.global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 1,
};
