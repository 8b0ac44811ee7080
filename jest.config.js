// Four projects: `unit` (pure logic, no external processes), `integration` (real control plane, Postgres,
// NATS and service processes), `e2e` (the embedded demo) and `kind` (real pods on a kind cluster). The integration project's global setup starts one
// control plane per run; it is loaded from packages/testenv/dist, so `npm run build` (done by
// `make test-integration`) must come first. The e2e project runs the built operator and services likewise.
// bench/ is a root for its helpers' unit tests (bench/test/unit); the drivers themselves are run by hack/bench.sh.
const roots = ['<rootDir>/packages', '<rootDir>/operator', '<rootDir>/services', '<rootDir>/bench'];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: {
    '^@obsdemo/(base|contracts|database|service-kit|telemetry|testenv)$':
      '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  roots,
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['**/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/packages/testenv/dist/jest/global-setup.js',
      globalTeardown: '<rootDir>/packages/testenv/dist/jest/global-teardown.js',
      setupFilesAfterEnv: ['<rootDir>/packages/testenv/test/setup/integration-timeout.ts'],
    },
    // The embedded demo end to end (make test-e2e): it starts its own control plane, operator and data plane.
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['**/test/e2e/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/packages/testenv/test/setup/integration-timeout.ts'],
    },
    // Real pods on the offline kind cluster (make test-kind brings up the cluster and loads the images first).
    {
      ...common,
      displayName: 'kind',
      testMatch: ['**/test/kind/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/packages/testenv/test/setup/integration-timeout.ts'],
    },
  ],
};
