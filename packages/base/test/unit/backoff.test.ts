import { describe, expect, it, jest } from '@jest/globals';
import { Backoff, backoffCeiling, backoffDelay, jitter, sleep } from '../../src/backoff.js';

describe('backoffCeiling', () => {
  it('doubles from the base and stops at the cap', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('is zero before any failure and stays capped for huge exponents', () => {
    expect(backoffCeiling(0, { baseMs: 100, maxMs: 1000 })).toBe(0);
    expect(backoffCeiling(5000, { baseMs: 5, maxMs: 1_000_000 })).toBe(1_000_000);
  });

  it('honours another factor', () => {
    expect(backoffCeiling(3, { baseMs: 10, maxMs: 1e6, factor: 3 })).toBe(90);
  });
});

describe('jitter', () => {
  it('is uniform in [ceiling/2, ceiling], in whole milliseconds', () => {
    expect(jitter(1000, () => 0)).toBe(500);
    expect(jitter(1000, () => 0.5)).toBe(750);
    expect(jitter(1000, () => 1)).toBe(1000);
    expect(jitter(333, () => 0.3)).toBe(Math.round(166.5 + 0.3 * 166.5));
  });

  it('keeps every draw within its bounds', () => {
    for (let i = 0; i < 1000; i++) {
      const d = jitter(800);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});

describe('backoffDelay', () => {
  it('is the jittered ceiling', () => {
    const policy = { baseMs: 500, maxMs: 10_000 };
    expect([1, 2, 3, 5, 6, 50].map((n) => backoffDelay(n, policy, () => 1))).toEqual([
      500, 1000, 2000, 8000, 10_000, 10_000,
    ]);
    expect([1, 2, 6].map((n) => backoffDelay(n, policy, () => 0))).toEqual([250, 500, 5000]);
  });
});

describe('Backoff', () => {
  it('grows per failure, is jittered, and resets after a success', () => {
    const b = new Backoff(
      { baseMs: 800, maxMs: 30_000 },
      () => 0.5,
      () => 0,
    );
    expect([b.next(), b.next(), b.next()]).toEqual([600, 1200, 2400]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(600);
  });

  it('caps the ceiling, so the delay never exceeds maxMs', () => {
    const b = new Backoff(
      { baseMs: 1000, maxMs: 4000 },
      () => 1,
      () => 0,
    );
    const delays = Array.from({ length: 6 }, () => b.next());
    expect(delays).toEqual([1000, 2000, 4000, 4000, 4000, 4000]);
  });

  it('starts over when the last failure is older than resetAfterMs', () => {
    let now = 0;
    const b = new Backoff(
      { baseMs: 100, maxMs: 10_000, resetAfterMs: 60_000 },
      () => 1,
      () => now,
    );
    b.next();
    b.next();
    now = 59_999;
    expect(b.next()).toBe(400);
    now = 59_999 + 60_000;
    expect(b.next()).toBe(100);
  });
});

describe('sleep', () => {
  it('resolves after the delay, or at once when aborted', async () => {
    jest.useFakeTimers();
    try {
      let done = false;
      const p = sleep(1000).then(() => (done = true));
      await jest.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await p;
      expect(done).toBe(true);

      const ac = new AbortController();
      let aborted = false;
      const q = sleep(60_000, ac.signal).then(() => (aborted = true));
      ac.abort();
      await q;
      expect(aborted).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
