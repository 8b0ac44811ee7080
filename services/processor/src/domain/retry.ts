import { backoffDelay, type BackoffPolicy } from '@obsdemo/service-kit';

export type { BackoffPolicy };

/**
 * Exponential backoff with the shared jitter (@obsdemo/base: uniform in [ceiling/2, ceiling], ceiling
 * base·2^attempt capped), so clients that failed together do not retry together. `attempt` counts from 0 for the
 * first retry.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  return backoffDelay(Math.max(0, attempt) + 1, policy, random);
}

export interface RetryOptions extends BackoffPolicy {
  /** Extra attempts after the first. */
  retries: number;
  shouldRetry: (error: unknown) => boolean;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * A dozen lines with injectable sleep and randomness keep the unit tests free of timers; a library would add
 * a dependency for the same loop.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.retries || !options.shouldRetry(error)) throw error;
      const delayMs = backoffDelayMs(attempt, options, options.random);
      options.onRetry?.(error, attempt, delayMs);
      await options.sleep(delayMs);
    }
  }
}
