// Two projects: `unit` (pure logic, no external processes) and `integration` (real control plane, Postgres,
// NATS and service processes). Its global setup starts one control plane per run; it is loaded from
// packages/testenv/dist, so `npm run build` (done by `make test-integration`) must come first.
const roots = ['<rootDir>/packages', '<rootDir>/operator', '<rootDir>/services'];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: {
    '^@obsdemo/(contracts|database|telemetry|testenv)$': '<rootDir>/packages/$1/src/index.ts',
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
  ],
};
