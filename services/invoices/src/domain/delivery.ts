import { EventDecodeError } from '@obsdemo/contracts';
import { backoffDelay } from '@obsdemo/service-kit';
import { InvoiceMismatchError } from './invoice.js';

export type ParkReason = 'undecodable' | 'invalid' | 'max_attempts';

export type FailureDecision = { action: 'park'; reason: ParkReason } | { action: 'retry'; delayMs: number };

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential in the delivery number, capped; the shared jitter (@obsdemo/base) spreads replicas' retries after a
 * shared outage.
 */
export function retryDelayMs(deliveryCount: number, policy: RetryPolicy, random: () => number): number {
  return backoffDelay(Math.max(1, deliveryCount), policy, random);
}

/**
 * Permanent failures (the bytes can never become a valid invoice) are parked at once; anything else is
 * presumed temporary (database or network) and retried with backoff until the delivery budget is spent.
 */
export function decideFailure(
  error: unknown,
  deliveryCount: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): FailureDecision {
  if (error instanceof EventDecodeError) return { action: 'park', reason: 'undecodable' };
  if (error instanceof InvoiceMismatchError) return { action: 'park', reason: 'invalid' };
  if (deliveryCount >= policy.maxAttempts) return { action: 'park', reason: 'max_attempts' };
  return { action: 'retry', delayMs: retryDelayMs(deliveryCount, policy, random) };
}

/** A message delivered more often than the budget allows (earlier attempts crashed the process) is not tried again. */
export function exhausted(deliveryCount: number, policy: RetryPolicy): boolean {
  return deliveryCount > policy.maxAttempts;
}
