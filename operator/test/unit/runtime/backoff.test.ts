import { describe, expect, it, jest } from '@jest/globals';
import { Backoff, exponentialDelay, sleep, withJitter } from '../../../src/runtime/backoff.js';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from '../../../src/runtime/rate-limiter.js';

describe('exponentialDelay', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => exponentialDelay(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('is zero before any failure and stays capped for huge exponents', () => {
    expect(exponentialDelay(0, 100, 1000)).toBe(0);
    expect(exponentialDelay(5000, 5, 1_000_000)).toBe(1_000_000);
  });

  it('honours another factor', () => {
    expect(exponentialDelay(3, 10, 1e6, 3)).toBe(90);
  });
});

describe('withJitter', () => {
  it('adds up to jitter × delay', () => {
    expect(withJitter(1000, 0.5, () => 0)).toBe(1000);
    expect(withJitter(1000, 0.5, () => 0.5)).toBe(1250);
    expect(withJitter(1000, 1, () => 0.999)).toBeCloseTo(1999);
  });

  it('leaves the delay alone without jitter', () => {
    expect(withJitter(1000, 0, () => 0.9)).toBe(1000);
  });
});

describe('Backoff', () => {
  it('grows per failure, is jittered, and resets after a success', () => {
    const b = new Backoff(
      { initialMs: 800, maxMs: 30_000, jitter: 1 },
      () => 0.25,
      () => 0,
    );
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('caps the base delay before adding jitter', () => {
    const b = new Backoff(
      { initialMs: 1000, maxMs: 4000, jitter: 0.5 },
      () => 1,
      () => 0,
    );
    const delays = Array.from({ length: 6 }, () => b.next());
    expect(delays).toEqual([1500, 3000, 6000, 6000, 6000, 6000]);
  });

  it('starts over when the last failure is older than resetAfterMs', () => {
    let now = 0;
    const b = new Backoff({ initialMs: 100, maxMs: 10_000, resetAfterMs: 60_000 }, Math.random, () => now);
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

describe('rate limiters', () => {
  it('per-key exponential: 5 ms doubling, per key, capped, reset by forget', () => {
    const r = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    expect([r.when('a'), r.when('a'), r.when('a')]).toEqual([5, 10, 20]);
    expect(r.when('b')).toBe(5);
    expect(r.numRequeues('a')).toBe(3);
    for (let i = 0; i < 40; i++) r.when('a');
    expect(r.when('a')).toBe(1_000_000);
    r.forget('a');
    expect(r.numRequeues('a')).toBe(0);
    expect(r.when('a')).toBe(5);
  });

  it('token bucket: a burst passes, then retries are spaced at 1/qps, and tokens refill with time', () => {
    let now = 0;
    const r = new BucketRateLimiter(10, 3, () => now);
    expect([r.when(), r.when(), r.when()]).toEqual([0, 0, 0]);
    expect(r.when()).toBeCloseTo(100);
    expect(r.when()).toBeCloseTo(200);
    now = 1000; // 10 tokens refilled, minus the 2 owed, capped at the burst of 3
    expect([r.when(), r.when(), r.when()]).toEqual([0, 0, 0]);
    expect(r.when()).toBeCloseTo(100);
  });

  it('max-of combines per-key backoff with the global bucket', () => {
    let now = 0;
    const r = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(10, 1, () => now),
    );
    expect(r.when('a')).toBe(5); // bucket has a token, per-key says 5
    expect(r.when('b')).toBeCloseTo(100); // bucket empty: 100 ms beats per-key 5 ms
    now = 10_000;
    expect(r.numRequeues('a')).toBe(1);
    r.forget('a');
    expect(r.numRequeues('a')).toBe(0);
  });

  it('default controller limiter: 5 ms base, 1000 s cap, 10 qps burst 100', () => {
    const now = 0;
    const r = defaultControllerRateLimiter(() => now);
    expect(r.when('x')).toBe(5);
    for (let i = 0; i < 30; i++) r.when('x');
    expect(r.when('x')).toBe(1_000_000);
    // 32 tokens used; 68 more keys pass the bucket with their 5 ms, the next one waits 100 ms for a token.
    for (let i = 0; i < 68; i++) expect(r.when(`k${i}`)).toBe(5);
    expect(r.when('late')).toBeCloseTo(100);
  });
});
