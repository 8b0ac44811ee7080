import { describe, it, expect, beforeAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildServices } from '../../../invoices/test/integration/harness.js';

const serviceDir = fileURLToPath(new URL('../..', import.meta.url));

beforeAll(() => {
  buildServices('processor');
});

function run(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', '@obsdemo/telemetry/register', 'dist/main.js'], {
    cwd: serviceDir,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

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
    const result = run(env);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });
});
