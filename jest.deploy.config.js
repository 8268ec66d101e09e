// Deploy tier: the deployment files — the Helm chart, the compose file — rendered and checked
// offline (helm, kubeconform and the Kubernetes schemas, installed into the cache outside the
// repository by the global set-up). No cluster, no Docker, no Kafka or MongoDB.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'deploy',
  roots: ['<rootDir>/test/deploy'],
  testMatch: ['**/*.deploy-spec.ts'],
  globalSetup: '<rootDir>/test/setup/deploy.global-setup.ts',
  testTimeout: 120_000,
};
