import { HttpError } from '@obsdemo/service-kit';
import type { RequestHandler, Response } from 'express';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitPolicy {
  /** Requests per client per one-second window. */
  rps: number;
  /** Extra requests per burst window once a second's budget is spent; 0 disables bursting. */
  burst: number;
  burstWindowSeconds: number;
}

export interface Consumer {
  consume(key: string): Promise<RateLimiterRes>;
}

/**
 * rate-limiter-flexible's own composition for "N per second plus a burst allowance": the one-second limiter
 * is tried first, the burst limiter only when it is exhausted. In memory, so the budget is per gateway replica.
 */
export function createLimiter(policy: RateLimitPolicy): Consumer {
  const perSecond = new RateLimiterMemory({ keyPrefix: 'rps', points: policy.rps, duration: 1 });
  if (policy.burst === 0) return perSecond;
  return new BurstyRateLimiter(
    perSecond,
    new RateLimiterMemory({ keyPrefix: 'burst', points: policy.burst, duration: policy.burstWindowSeconds }),
  );
}

/**
 * IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, the separate-fields form): limit and
 * remaining refer to the one-second window, reset is whole seconds until it refills, and the policy lists both
 * windows. Retry-After is only sent with a 429 and is never 0, so clients do not retry in a tight loop.
 */
export function rateLimitHeaders(
  policy: RateLimitPolicy,
  result: Pick<RateLimiterRes, 'remainingPoints' | 'msBeforeNext'>,
  limited: boolean,
): Record<string, string> {
  const resetSeconds = Math.max(0, Math.ceil(result.msBeforeNext / 1000));
  const windows = [`${policy.rps};w=1`];
  if (policy.burst > 0) windows.push(`${policy.burst};w=${policy.burstWindowSeconds}`);
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(policy.rps),
    'RateLimit-Remaining': String(Math.max(0, Math.min(policy.rps, result.remainingPoints))),
    'RateLimit-Reset': String(resetSeconds),
    'RateLimit-Policy': windows.join(', '),
  };
  if (limited) headers['Retry-After'] = String(Math.max(1, resetSeconds));
  return headers;
}

function setHeaders(res: Response, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

/** 429 with Retry-After once a client's budget is spent; `keyOf` decides who "a client" is. */
export function rateLimit(
  policy: RateLimitPolicy,
  limiter: Consumer,
  keyOf: (res: Response, ip: string) => string,
  onLimited: () => void = () => undefined,
): RequestHandler {
  return async (req, res, next) => {
    const key = keyOf(res, req.ip ?? req.socket.remoteAddress ?? 'unknown');
    let result: RateLimiterRes;
    try {
      result = await limiter.consume(key);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const headers = rateLimitHeaders(policy, error, true);
      setHeaders(res, headers);
      onLimited();
      throw new HttpError(
        429,
        'rate_limited',
        `rate limit of ${policy.rps} requests per second exceeded; retry after ${headers['Retry-After']} s`,
      );
    }
    setHeaders(res, rateLimitHeaders(policy, result, false));
    next();
  };
}
