import { backoffDelayMs, type BackoffPolicy } from './retry.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * running → running is a takeover: the lease expired (its worker crashed or hung) and another worker claimed
 * the job. Terminal states never change again.
 */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running'],
  running: ['running', 'queued', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(status: JobStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

export interface AttemptState {
  attempts: number;
  maxAttempts: number;
}

export type FailureOutcome = { status: 'queued'; delayMs: number } | { status: 'failed' };

/** After a failed attempt: try again later while attempts remain and the error is not permanent. */
export function afterFailure(
  job: AttemptState,
  permanent: boolean,
  policy: BackoffPolicy,
  random: () => number,
): FailureOutcome {
  if (permanent || job.attempts >= job.maxAttempts) return { status: 'failed' };
  return { status: 'queued', delayMs: backoffDelayMs(job.attempts - 1, policy, random) };
}

/** A lease-expired job may be claimed again only while it has attempts left; otherwise it is failed. */
export function reclaimable(job: AttemptState): boolean {
  return job.attempts < job.maxAttempts;
}
