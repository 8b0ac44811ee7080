import { describe, expect, it } from '@jest/globals';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from '../../../src/runtime/rate-limiter.js';

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
