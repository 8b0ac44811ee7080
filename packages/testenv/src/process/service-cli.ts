import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The tests run the compiled services exactly as the containers do, so dist/ must be current. */
export function buildServices(...services: string[]): void {
  execFileSync(
    process.execPath,
    [
      join(repoRoot, 'node_modules/typescript/bin/tsc'),
      '-b',
      ...services.map((s) => join(repoRoot, 'services', s, 'tsconfig.json')),
    ],
    { stdio: 'inherit' },
  );
}

export interface StartupOutcome {
  status: number | null;
  stdout: string;
  stderrLines: string[];
}

/**
 * Runs a built service as its container does, with only PATH and `env` set, until it exits by itself:
 * for start-up failures, which must be exit code 1 and one readable line on stderr.
 */
export function runServiceToExit(service: string, env: Record<string, string>): StartupOutcome {
  const result = spawnSync(process.execPath, ['--import', '@obsdemo/telemetry/register', 'dist/main.js'], {
    cwd: join(repoRoot, 'services', service),
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderrLines: result.stderr.trimEnd().split('\n') };
}

/** The `component` of each shutdown step in a service's JSON log, in the order they closed. */
export function closedComponents(log: string): (string | undefined)[] {
  return [...log.matchAll(/"component":"([\w-]+)"/g)].map((m) => m[1]);
}

/** Matches the log line of a shutdown that ended with exit code 0, whatever the field order. */
export const SHUTDOWN_COMPLETE_EXIT_0 =
  /"exitCode":0[^\n]*"message":"shutdown complete"|"message":"shutdown complete"[^\n]*"exitCode":0/;
