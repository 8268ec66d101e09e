// Integration tier: repositories and messaging against a real Kafka broker and
// a real MongoDB-wire server (see libs/shared/testing).
module.exports = {
  ...require('./jest.preset'),
  displayName: 'integration',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/apps'],
  testMatch: ['**/*.int-spec.ts'],
  globalSetup: '<rootDir>/test/setup/infra.global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/infra.global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 1,
};
