import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const operatorDir = fileURLToPath(new URL('../..', import.meta.url));

// The built operator, run as its container runs it, with a kubeconfig it cannot use: it must end at once with exit
// code 1 and one readable line that names the cluster, not a stack trace.
describe('operator start-up without a usable cluster', () => {
  it('exits 1 with one "cannot start" line naming the cluster and the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obsdemo-startup-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: plain, cluster: {server: "http://127.0.0.1:9"}}]',
          'users: [{name: nobody, user: {token: not-a-secret}}]',
          'contexts: [{name: plain, context: {cluster: plain, user: nobody}}]',
          'current-context: plain',
          '',
        ].join('\n'),
      );
      const result = spawnSync(process.execPath, ['dist/main.js'], {
        cwd: operatorDir,
        env: { PATH: process.env['PATH'] ?? '', KUBECONFIG: kubeconfig, LEADER_ELECT: 'false' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).toBe(1);
      const lines = `${result.stdout}${result.stderr}`.trim().split('\n');
      const failure = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['level'] === 'error');
      expect(failure).toMatchObject({
        message: 'cannot start',
        cluster: 'http://127.0.0.1:9',
        error: expect.stringContaining('HTTP protocol is not allowed'),
      });
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m);
      expect(`${result.stdout}${result.stderr}`).not.toContain('not-a-secret');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
