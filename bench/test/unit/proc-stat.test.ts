import { describe, expect, it } from '@jest/globals';
import { Worker } from 'node:worker_threads';
import { mainThreadCpuSeconds, processCpuSeconds } from '../../proc-stat.ts';

/** Spins the calling thread until it has used `us` microseconds of CPU, however long the machine makes that take. */
function spin(us: number): void {
  const start = process.threadCpuUsage();
  for (;;) {
    const now = process.threadCpuUsage(start);
    if (now.user + now.system >= us) return;
  }
}

describe('mainThreadCpuSeconds', () => {
  it("counts the main thread's CPU, and not a worker thread's, which processCpuSeconds counts", async () => {
    // /proc counts in 10 ms ticks: 0.3 s of CPU on each side leaves room for them.
    const mainBefore = mainThreadCpuSeconds(process.pid);
    const allBefore = processCpuSeconds(process.pid);
    spin(300_000);
    const mainAfterSpin = mainThreadCpuSeconds(process.pid);
    expect(mainAfterSpin - mainBefore).toBeGreaterThanOrEqual(0.25);

    // Then a worker spins while this thread waits for its message.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       (${spin.toString()})(300000);
       parentPort.postMessage('done');`,
      { eval: true },
    );
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const main = mainThreadCpuSeconds(process.pid) - mainAfterSpin;
    const all = processCpuSeconds(process.pid) - allBefore;
    expect(main).toBeLessThan(0.25);
    // The process's total holds both spins; what is outside the main thread holds the worker's.
    expect(all - (mainThreadCpuSeconds(process.pid) - mainBefore)).toBeGreaterThanOrEqual(0.25);
  }, 30_000);
});
