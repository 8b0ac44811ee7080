import { describe, it, expect, beforeAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const catalogDir = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(catalogDir, '..', '..');

beforeAll(() => {
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-b', join(catalogDir, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  expect(build.status).toBe(0);
});

function run(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', '@obsdemo/telemetry/register', 'dist/main.js'], {
    cwd: catalogDir,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('start-up with bad configuration', () => {
  it.each([
    [
      { DB_PASSWORD: 'x', CATALOG_PORT: 'eighty' },
      /^config error: CATALOG_PORT must be valid: .*\(got "eighty"\)$/,
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
