import { describe, it, expect } from '@jest/globals';
import { backoffDelayMs, retry } from '../../src/domain/retry.js';

describe('backoffDelayMs', () => {
  const policy = { baseMs: 100, maxMs: 1000 };

  it('grows exponentially up to the cap, scaled by the jitter draw', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, policy, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    // The shared jitter: uniform in [ceiling/2, ceiling].
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(600);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(400);
  });
});

describe('retry', () => {
  const opts = (retries: number, shouldRetry: (e: unknown) => boolean = () => true) => {
    const sleeps: number[] = [];
    return {
      sleeps,
      options: {
        retries,
        baseMs: 10,
        maxMs: 1000,
        shouldRetry,
        random: () => 1,
        sleep: async (ms: number) => {
          sleeps.push(ms);
        },
      },
    };
  };

  it('retries retryable failures with growing delays and returns the first success', async () => {
    const { sleeps, options } = opts(3);
    let calls = 0;
    const result = await retry(async () => {
      calls++;
      if (calls < 3) throw new Error('flaky');
      return 'ok';
    }, options);
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([10, 20]);
  });

  it('gives up after the configured number of retries with the last error', async () => {
    const { sleeps, options } = opts(2);
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new Error(`failure ${calls}`);
      }, options),
    ).rejects.toThrow('failure 3');
    expect(sleeps).toHaveLength(2);
  });

  it('never retries an error the predicate rejects', async () => {
    const { sleeps, options } = opts(5, () => false);
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new Error('permanent');
      }, options),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(1);
    expect(sleeps).toEqual([]);
  });
});
