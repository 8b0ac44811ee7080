import { serializeContext } from '@obsdemo/service-kit';
import type { JobStatus } from '../domain/jobs.js';
import type { Job, JobStore } from '../jobs/store.js';

export interface JobServiceDeps {
  store: JobStore;
  maxAttempts: number;
  /** Called after a commit so a worker starts now instead of at its next poll. */
  onEnqueue?: () => void;
}

export function jobService({ store, maxAttempts, onEnqueue }: JobServiceDeps) {
  return {
    /** Durable before the caller hears "accepted": the row is committed when this resolves. */
    async enqueue(type: string, payload: unknown): Promise<Job> {
      const job = await store.enqueue({ type, payload, maxAttempts, traceContext: serializeContext() });
      onEnqueue?.();
      return job;
    },
    get: (id: string) => store.get(id),
    list: (query: {
      page: number;
      pageSize: number;
      status?: JobStatus | undefined;
      type?: string | undefined;
    }) => store.list(query),
  };
}

export type JobService = ReturnType<typeof jobService>;
