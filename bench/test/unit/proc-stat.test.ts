import { describe, expect, it } from '@jest/globals';
import { Worker } from 'node:worker_threads';
import { mainThreadCpuSeconds, processCpuSeconds } from '../../proc-stat.ts';

describe('mainThreadCpuSeconds', () => {
  it("counts the main thread only: a worker thread's CPU shows in the process's total and not in it", async () => {
    const mainBefore = mainThreadCpuSeconds(process.pid);
    const allBefore = processCpuSeconds(process.pid);
    // The worker spins until its own thread has used 0.3 s of CPU, however long the machine makes that take,
    // while this thread waits for its message.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const start = process.threadCpuUsage();
       let spent = 0;
       while (spent < 300_000) {
         const now = process.threadCpuUsage(start);
         spent = now.user + now.system;
       }
       parentPort.postMessage(spent);`,
      { eval: true },
    );
    const spentUs = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const main = mainThreadCpuSeconds(process.pid) - mainBefore;
    const all = processCpuSeconds(process.pid) - allBefore;
    expect(spentUs).toBeGreaterThanOrEqual(300_000);
    // /proc counts in 10 ms ticks; the worker's 0.3 s is in the total, outside the main thread.
    expect(all - main).toBeGreaterThanOrEqual(0.25);
    expect(main).toBeLessThan(0.25);
  });
});
