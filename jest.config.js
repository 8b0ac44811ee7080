// Two projects: `unit` (pure logic, no external processes) and `integration` (real control plane, Postgres,
// NATS and service processes, started once per run by packages/testenv's global setup).
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
    '^@obsdemo/(contracts|telemetry|testenv)$': '<rootDir>/packages/$1/src/index.ts',
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
      globalSetup: '<rootDir>/packages/testenv/src/jest/global-setup.ts',
      globalTeardown: '<rootDir>/packages/testenv/src/jest/global-teardown.ts',
      testTimeout: 120000,
    },
  ],
};
