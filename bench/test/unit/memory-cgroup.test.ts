import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createMemoryCgroup, joinAndExec, quantityBytes } from '../../memory-cgroup.ts';

describe('quantityBytes', () => {
  it('reads the binary suffixes Kubernetes manifests use, and plain bytes', () => {
    expect(quantityBytes('384Mi')).toBe(384 * 2 ** 20);
    expect(quantityBytes('2Gi')).toBe(2 * 2 ** 30);
    expect(quantityBytes('512Ki')).toBe(512 * 2 ** 10);
    expect(quantityBytes('1000')).toBe(1000);
  });

  it('refuses what it does not understand', () => {
    expect(() => quantityBytes('384M')).toThrow('not a memory quantity: 384M');
    expect(() => quantityBytes('lots')).toThrow('not a memory quantity: lots');
  });
});

describe('createMemoryCgroup', () => {
  // The benchmarks run as root on this machine, as `make bench` does; the driver reports the reason otherwise.
  it('starts a process inside a limited cgroup, where Node sees the limit as its constrained memory', () => {
    const cgroup = createMemoryCgroup(`obsdemo-unit-${process.pid}`, 300 * 2 ** 20);
    if (typeof cgroup === 'string') throw new Error(cgroup);
    try {
      const [command, args] = joinAndExec(cgroup, process.execPath, [
        '-p',
        "[process.constrainedMemory(), require('node:fs').readFileSync('/proc/self/cgroup', 'utf8')].join(' ')",
      ]);
      const out = execFileSync(command, args, { encoding: 'utf8' });
      expect(out.startsWith(`${300 * 2 ** 20} `)).toBe(true);
      expect(out).toContain(`obsdemo-unit-${process.pid}`);
      expect(cgroup.oomKills()).toBe(0);
      expect(cgroup.peakBytes()).toBeGreaterThan(0);
    } finally {
      cgroup.remove();
    }
  });
});
