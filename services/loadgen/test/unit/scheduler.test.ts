import { describe, it, expect, jest, afterEach } from '@jest/globals';
import type { Scenario } from '../../src/mix.js';
import { OpenLoopScheduler, type Clock } from '../../src/scheduler.js';

/** The fake timers drive both the interval and the clock, so ticks see exactly the simulated time. */
const fakeClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h),
};

afterEach(() => {
  jest.useRealTimers();
});

function harness(options: {
  rps: number;
  maxInFlight: number;
  durationMs?: number;
  answer?: 'never' | 'now';
}) {
  const sent: Scenario[] = [];
  const dropped: Scenario[] = [];
  const pending: (() => void)[] = [];
  let finished = 0;
  const scheduler = new OpenLoopScheduler({
    rps: options.rps,
    maxInFlight: options.maxInFlight,
    durationMs: options.durationMs,
    pick: () => 'browse',
    send: (s) => {
      sent.push(s);
      if (options.answer === 'now') return Promise.resolve();
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    onDropped: (s) => dropped.push(s),
    onFinished: () => finished++,
    clock: fakeClock,
  });
  return { scheduler, sent, dropped, pending, finished: () => finished };
}

describe('open-loop scheduler', () => {
  it.each([
    [5, 10],
    [50, 3],
    [7, 4],
    [0.5, 10],
  ])('at %p rps for %p s schedules rps×t sends', async (rps, seconds) => {
    jest.useFakeTimers();
    const h = harness({ rps, maxInFlight: 1_000_000, answer: 'now' });
    h.scheduler.start();
    await jest.advanceTimersByTimeAsync(seconds * 1000);
    expect(h.scheduler.scheduled).toBe(Math.floor(rps * seconds));
    expect(h.sent).toHaveLength(Math.floor(rps * seconds));
    expect(h.dropped).toHaveLength(0);
    h.scheduler.stop();
  });

  it('keeps its rate when nothing answers: over the cap sends are dropped and counted, not delayed', async () => {
    jest.useFakeTimers();
    const h = harness({ rps: 20, maxInFlight: 15, answer: 'never' });
    h.scheduler.start();
    await jest.advanceTimersByTimeAsync(5000);
    expect(h.scheduler.scheduled).toBe(100);
    expect(h.sent).toHaveLength(15);
    expect(h.dropped).toHaveLength(85);
    expect(h.scheduler.inFlight).toBe(15);

    // Answers free capacity; the schedule carries on at the same rate.
    for (const resolve of h.pending.splice(0)) resolve();
    await jest.advanceTimersByTimeAsync(500);
    expect(h.scheduler.scheduled).toBe(110);
    expect(h.sent).toHaveLength(25);
    expect(h.dropped).toHaveLength(85);
    h.scheduler.stop();
  });

  it('stops by itself after the duration and drains what is in flight', async () => {
    jest.useFakeTimers();
    const h = harness({ rps: 10, maxInFlight: 100, durationMs: 2000, answer: 'never' });
    h.scheduler.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(h.scheduler.scheduled).toBe(20);
    expect(h.scheduler.running).toBe(false);
    expect(h.finished()).toBe(1);

    const drained = h.scheduler.drain(1000);
    for (const resolve of h.pending.splice(0)) resolve();
    await expect(drained).resolves.toBe(true);
  });

  it('reports a drain that misses its deadline', async () => {
    jest.useFakeTimers();
    const h = harness({ rps: 10, maxInFlight: 100, answer: 'never' });
    h.scheduler.start();
    await jest.advanceTimersByTimeAsync(1000);
    h.scheduler.stop();
    const drained = h.scheduler.drain(500);
    await jest.advanceTimersByTimeAsync(500);
    await expect(drained).resolves.toBe(false);
    expect(h.scheduler.scheduled).toBe(10);
  });
});
