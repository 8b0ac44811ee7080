import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, ProcessStartError, freePorts, waitUntilReady } from '@obsdemo/testenv';

const logDir = mkdtempSync(join(tmpdir(), 'obsdemo-unit-'));

describe('ManagedProcess', () => {
  it('names the process and shows the tail of its log when it dies during start-up', async () => {
    const proc = ManagedProcess.start({
      name: 'doomed',
      command: 'sh',
      args: ['-c', 'echo first line; echo "fatal: cannot bind" >&2; exit 3'],
      logFile: join(logDir, 'doomed.log'),
    });
    const error = await waitUntilReady(proc, 'ready', async () => false).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProcessStartError);
    expect((error as ProcessStartError).message).toMatch(/^doomed: exited during start-up with code 3/);
    expect((error as ProcessStartError).logTail).toContain('fatal: cannot bind');
  });

  it('reports a readiness timeout with the log tail', async () => {
    const proc = ManagedProcess.start({
      name: 'sleeper',
      command: 'sh',
      args: ['-c', 'echo waiting forever; exec sleep 60'],
      logFile: join(logDir, 'sleeper.log'),
    });
    try {
      const error = await waitUntilReady(proc, 'ready', async () => false, 300, 50).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as Error).message).toMatch(/^sleeper: not ready after 300 ms/);
      expect((error as ProcessStartError).logTail).toContain('waiting forever');
    } finally {
      await proc.stop();
    }
    expect(proc.running).toBe(false);
  });

  it('escalates to SIGKILL when a process ignores SIGTERM', async () => {
    const proc = ManagedProcess.start({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', "trap '' TERM; echo started; while true; do sleep 0.05; done"],
      logFile: join(logDir, 'stubborn.log'),
    });
    await waitUntilReady(proc, 'started', async () => proc.logTail().includes('started'));
    const exit = await proc.stop(200);
    expect(exit.signal).toBe('SIGKILL');
  });
});

describe('freePorts', () => {
  it('returns distinct ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});
