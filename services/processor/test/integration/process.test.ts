import { describe, it, expect, beforeAll } from '@jest/globals';
import { buildServices, runServiceToExit } from '@obsdemo/testenv';

beforeAll(() => {
  buildServices('processor');
});

describe('start-up with bad configuration', () => {
  it.each([
    [
      { DB_PASSWORD: 'x', PROCESSOR_PORT: 'eighty' },
      /^config error: PROCESSOR_PORT must be valid: .*\(got "eighty"\)$/,
    ],
    [{}, /^config error: DB_PASSWORD must be valid: .*\(it is not set\)$/],
    [
      { DB_PASSWORD: 'x', OTEL_TRACES_SAMPLER_ARG: '7' },
      /^config error: OTEL_TRACES_SAMPLER_ARG must be valid: /,
    ],
  ])('stops with exit code 1 and exactly one line on stderr (%p)', (env, line) => {
    const result = runServiceToExit('processor', env);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderrLines).toHaveLength(1);
    expect(result.stderrLines[0]).toMatch(line);
  });
});
