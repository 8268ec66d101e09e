// Unit tier: fast, no infrastructure; mocks allowed here and only here.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'unit',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/apps'],
  testMatch: ['**/*.spec.ts'],
};
