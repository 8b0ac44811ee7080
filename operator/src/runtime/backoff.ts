/**
 * Exponential backoff with jitter, as client-go's `wait.Backoff` / reflector backoff manager: each failure doubles
 * the base delay up to a cap, and jitter spreads reconnecting clients so they do not hit a recovering apiserver in
 * lockstep.
 */
export interface BackoffOptions {
  /** Delay after the first failure. */
  initialMs: number;
  /** Upper bound of the base delay (before jitter). */
  maxMs: number;
  /** Growth per failure; 2 by default. */
  factor?: number;
  /** Up to `jitter × delay` is added at random (client-go's jitter factor); 0 disables it. */
  jitter?: number;
  /** A failure after this long without one starts again from `initialMs` (client-go's resetDuration). */
  resetAfterMs?: number;
}

/** The base delay after `failures` consecutive failures (1 = first failure), capped at `maxMs`. */
export function exponentialDelay(failures: number, initialMs: number, maxMs: number, factor = 2): number {
  if (failures <= 0) return 0;
  const exp = initialMs * Math.pow(factor, failures - 1);
  // Large exponents overflow to Infinity; the cap still applies.
  return Number.isFinite(exp) ? Math.min(exp, maxMs) : maxMs;
}

/** `delay` plus a uniformly random share of up to `jitter × delay`. */
export function withJitter(delay: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0) return delay;
  return delay + random() * jitter * delay;
}

/** Stateful backoff for one retry loop (a watch, a lease renewal). */
export class Backoff {
  private failures = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    const now = this.now();
    const reset = this.options.resetAfterMs;
    if (reset !== undefined && now - this.lastFailureAt >= reset) this.failures = 0;
    this.lastFailureAt = now;
    this.failures += 1;
    const base = exponentialDelay(
      this.failures,
      this.options.initialMs,
      this.options.maxMs,
      this.options.factor ?? 2,
    );
    return withJitter(base, this.options.jitter ?? 0, this.random);
  }

  /** Forgets past failures (after a success). */
  reset(): void {
    this.failures = 0;
    this.lastFailureAt = Number.NEGATIVE_INFINITY;
  }

  get attempts(): number {
    return this.failures;
  }
}

/** A delay that can be cut short by an AbortSignal; resolves either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
