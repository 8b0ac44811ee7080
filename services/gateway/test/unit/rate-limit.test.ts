import { describe, it, expect } from '@jest/globals';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { createLimiter, rateLimitHeaders, type RateLimitPolicy } from '../../src/http/rate-limit.js';

const policy: RateLimitPolicy = { rps: 10, burst: 20, burstWindowSeconds: 10 };

describe('RateLimit header math', () => {
  it('reports the one-second window and both policies on an allowed request', () => {
    expect(rateLimitHeaders(policy, { remainingPoints: 7, msBeforeNext: 420 }, false)).toEqual({
      'RateLimit-Limit': '10',
      'RateLimit-Remaining': '7',
      'RateLimit-Reset': '1',
      'RateLimit-Policy': '10;w=1, 20;w=10',
    });
  });

  it('rounds the reset up to whole seconds and adds Retry-After (never 0) on a 429', () => {
    const h = rateLimitHeaders(policy, { remainingPoints: 0, msBeforeNext: 1001 }, true);
    expect(h['RateLimit-Reset']).toBe('2');
    expect(h['Retry-After']).toBe('2');
    const soon = rateLimitHeaders(policy, { remainingPoints: 0, msBeforeNext: 0 }, true);
    expect(soon['RateLimit-Reset']).toBe('0');
    expect(soon['Retry-After']).toBe('1');
  });

  it('clamps remaining into 0..limit and omits the burst policy when bursting is off', () => {
    const h = rateLimitHeaders({ ...policy, burst: 0 }, { remainingPoints: -3, msBeforeNext: 10 }, false);
    expect(h['RateLimit-Remaining']).toBe('0');
    expect(h['RateLimit-Policy']).toBe('10;w=1');
    expect(h['Retry-After']).toBeUndefined();
  });
});

describe('limiter composition', () => {
  async function allowed(limiter: ReturnType<typeof createLimiter>, key: string, n: number) {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      try {
        await limiter.consume(key);
        ok++;
      } catch (error) {
        expect(error).toBeInstanceOf(RateLimiterRes);
      }
    }
    return ok;
  }

  it('allows rps per second plus the burst allowance, per key', async () => {
    const limiter = createLimiter({ rps: 3, burst: 2, burstWindowSeconds: 60 });
    expect(await allowed(limiter, 'a', 10)).toBe(5);
    expect(await allowed(limiter, 'b', 10)).toBe(5);
  });

  it('allows exactly rps when bursting is off', async () => {
    expect(await allowed(createLimiter({ rps: 4, burst: 0, burstWindowSeconds: 1 }), 'a', 9)).toBe(4);
  });
});
