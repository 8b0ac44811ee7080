/**
 * The one retry backoff of the project: the services' retry loops (catalog's outbox relay, the invoices consumer's
 * reconnect and store probe, invoices' redelivery delay, processor's HTTP retries and job requeues) and the
 * operator's informer reconnects.
 *
 * Ceiling: `baseMs × factor^(failures-1)` (factor 2 by default), capped at `maxMs`.
 * Jitter, one policy everywhere ("equal jitter"): the delay is uniform in `[ceiling/2, ceiling]`, rounded to the
 * millisecond. Half of it is kept, so a retry never comes at once after a failure and a cap still means "about
 * this long"; the random half spreads clients that failed together (replicas after a shared outage) so they do
 * not all come back in the same instant.
 *
 * `random` and `now` are parameters so tests need no timers and no mocks.
 */
export interface BackoffPolicy {
  /** The ceiling after the first failure. */
  baseMs: number;
  /** Upper bound of the ceiling. */
  maxMs: number;
  /** Growth per failure; 2 by default. */
  factor?: number;
}

export interface BackoffOptions extends BackoffPolicy {
  /** A failure after this long without one starts again from `baseMs` (client-go's resetDuration). */
  resetAfterMs?: number;
}

/** The delay ceiling after `failures` consecutive failures (1 = the first), before jitter; 0 for none. */
export function backoffCeiling(failures: number, policy: BackoffPolicy): number {
  if (failures <= 0) return 0;
  const exp = policy.baseMs * Math.pow(policy.factor ?? 2, failures - 1);
  // Large exponents overflow to Infinity; the cap still applies.
  return Number.isFinite(exp) ? Math.min(exp, policy.maxMs) : policy.maxMs;
}

/** The jitter policy: uniform in `[ceiling/2, ceiling]`, rounded to whole milliseconds. */
export function jitter(ceiling: number, random: () => number = Math.random): number {
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** How long to wait after `failures` consecutive failures (1 = the first): the jittered ceiling. */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  return jitter(backoffCeiling(failures, policy), random);
}

/** Stateful backoff for one retry loop (a reconnect, a probe): `next()` on each failure, `reset()` on success. */
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
    return backoffDelay(this.failures, this.options, this.random);
  }

  /** Forgets past failures (after a success). */
  reset(): void {
    this.failures = 0;
    this.lastFailureAt = Number.NEGATIVE_INFINITY;
  }

  /** Consecutive failures so far. */
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
