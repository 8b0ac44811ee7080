import type { Logger } from '@obsdemo/telemetry';
import { HttpError, deserializeContext } from '@obsdemo/service-kit';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, type OpenMetricsContentType, type Registry } from 'prom-client';
import { afterFailure } from '../domain/jobs.js';
import type { BackoffPolicy } from '../domain/retry.js';
import type { ClaimedJob, JobStore } from './store.js';

/** A job handler; `signal` aborts when the worker gives the job back on shutdown. */
export type JobHandler = (payload: unknown, signal: AbortSignal) => Promise<unknown>;

export interface WorkerOptions {
  store: JobStore;
  handlers: Record<string, JobHandler>;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  retry: BackoffPolicy;
  /** How long stop() lets running jobs finish before handing them back to the queue. */
  stopGraceMs: number;
  random?: () => number;
}

/** Input that can never succeed (a 4xx from catalog, a payload that fails its schema) is not retried. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

function isPermanent(error: unknown): boolean {
  return error instanceof PermanentJobError || (error instanceof HttpError && error.status < 500);
}

/**
 * Claims due jobs from Postgres (FOR UPDATE SKIP LOCKED, so replicas never take the same job), renews each
 * job's lease while it runs, and records the outcome. A job whose worker died is taken over once its lease
 * expires, so a job accepted before a crash still finishes after the restart.
 */
export class JobWorker {
  readonly workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly running = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly processed: Counter<'type' | 'outcome'>;
  private readonly duration: Histogram<'type' | 'outcome'>;

  constructor(private readonly options: WorkerOptions) {
    const registers = [options.registry];
    this.processed = new Counter({
      name: 'jobs_processed_total',
      help: 'Job attempts by type and outcome (succeeded, retried, failed).',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'job_duration_seconds',
      help: 'Duration of one job attempt by type and outcome.',
      labelNames: ['type', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const store = options.store;
    new Gauge({
      name: 'jobs',
      help: 'Jobs in the durable queue by status.',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await store.countByStatus().catch(() => undefined);
        for (const [status, n] of Object.entries(counts ?? {})) this.set({ status }, n);
      },
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Look for work now instead of at the next poll (called after an enqueue). */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    await this.loop;
    const inFlight = [...this.running.values()].map((r) => r.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(inFlight),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.stopGraceMs))),
    ]);
    clearTimeout(timer);
    for (const [id, job] of this.running) {
      job.abort.abort();
      await this.options.store.release(id, this.workerId).catch(() => false);
      this.options.logger.info('job handed back to the queue', { jobId: id });
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    const { store, leaseMs, pollMs, concurrency, logger } = this.options;
    while (!this.stopped) {
      try {
        const abandoned = await store.failAbandoned();
        if (abandoned > 0) logger.warn('jobs failed after their last lease expired', { count: abandoned });
        const free = concurrency - this.running.size;
        const claimed = free > 0 ? await store.claim(this.workerId, free, leaseMs) : [];
        for (const job of claimed) this.launch(job);
        if (claimed.length === 0 || this.running.size >= concurrency) await this.sleep(pollMs);
      } catch (error) {
        logger.warn('job worker will retry', { err: (error as Error).message });
        await this.sleep(pollMs);
      }
    }
  }

  private launch(job: ClaimedJob): void {
    const abort = new AbortController();
    const done = this.execute(job, abort.signal).finally(() => {
      this.running.delete(job.id);
      this.notify();
    });
    this.running.set(job.id, { done, abort });
  }

  private async execute(job: ClaimedJob, signal: AbortSignal): Promise<void> {
    const { store, logger, leaseMs } = this.options;
    const started = process.hrtime.bigint();
    // Renewing at a third of the lease survives two missed renewals before another worker may take over.
    const heartbeat = setInterval(
      () => {
        store.renew(job.id, this.workerId, leaseMs).catch((error: unknown) => {
          logger.warn('could not renew job lease', { jobId: job.id, err: (error as Error).message });
        });
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    const tracer = trace.getTracer('obsdemo.jobs');
    // The job's span continues the trace of the request that enqueued it.
    const span = tracer.startSpan(
      `job ${job.type}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'job.id': job.id, 'job.type': job.type, 'job.attempt': job.attempts },
      },
      deserializeContext(job.traceContext),
    );
    let outcome: 'succeeded' | 'retried' | 'failed';
    try {
      const handler = this.options.handlers[job.type];
      if (!handler) throw new PermanentJobError(`no handler for job type ${job.type}`);
      const result = await context.with(trace.setSpan(context.active(), span), () =>
        handler(job.payload, signal),
      );
      if (signal.aborted) return;
      outcome = 'succeeded';
      if (await store.succeed(job.id, this.workerId, result)) {
        logger.info('job succeeded', { jobId: job.id, type: job.type, attempt: job.attempts });
      } else {
        // Another worker took the job over after our lease lapsed; its outcome is the one that counts.
        logger.warn('job finished after losing its lease; result discarded', { jobId: job.id });
      }
    } catch (error) {
      if (signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      span.recordException(error instanceof Error ? error : new Error(message));
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      const next = afterFailure(
        job,
        isPermanent(error),
        this.options.retry,
        this.options.random ?? Math.random,
      );
      if (next.status === 'failed') {
        await store.fail(job.id, this.workerId, message).catch(() => false);
        outcome = 'failed';
        logger.error('job failed', { jobId: job.id, type: job.type, attempt: job.attempts, err: message });
      } else {
        await store.requeue(job.id, this.workerId, message, next.delayMs).catch(() => false);
        outcome = 'retried';
        logger.warn('job will be retried', {
          jobId: job.id,
          type: job.type,
          attempt: job.attempts,
          retryInMs: next.delayMs,
          err: message,
        });
      }
    } finally {
      clearInterval(heartbeat);
      span.end();
    }
    const labels = { type: job.type, outcome };
    this.processed.inc(labels);
    this.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
