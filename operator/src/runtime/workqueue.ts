import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry, RegistryContentType } from 'prom-client';
import { defaultControllerRateLimiter } from './rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';

const LABELS = ['name', 'controller'] as const;
type Label = (typeof LABELS)[number];
// controller-runtime's buckets for queue and work durations: 10 ns … 1000 s.
const DURATION_BUCKETS = Array.from({ length: 12 }, (_, i) => 10e-9 * Math.pow(10, i));

interface WorkqueueMetrics {
  depth: Gauge<Label>;
  adds: Counter<Label>;
  queueDuration: Histogram<Label>;
  workDuration: Histogram<Label>;
  retries: Counter<Label>;
  unfinished: Gauge<Label>;
  longestRunning: Gauge<Label>;
  queues: Set<WorkQueue>;
}

// One set of metric objects per registry: every queue (one per controller) reports under its own labels.
const metricsByRegistry = new WeakMap<Registry<RegistryContentType>, WorkqueueMetrics>();

function workqueueMetrics(registry: Registry<RegistryContentType>): WorkqueueMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const queues = new Set<WorkQueue>();
  const registers = [registry];
  const labelNames = LABELS;
  const metrics: WorkqueueMetrics = {
    queues,
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames, registers }),
    adds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames,
      registers,
    }),
    queueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    retries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames,
      registers,
    }),
    // Computed at scrape time instead of client-go's 500 ms ticker: no timer to stop, always current.
    unfinished: new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by " +
        'work_duration. Large values indicate stuck threads.',
      labelNames,
      registers,
      collect() {
        for (const q of queues) this.set(q.labels, q.unfinishedWorkSeconds());
      },
    }),
    longestRunning: new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames,
      registers,
      collect() {
        for (const q of queues) this.set(q.labels, q.longestRunningProcessorSeconds());
      },
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

export interface WorkQueueOptions {
  /** The queue's name, used as both the `name` and `controller` label (as controller-runtime does). */
  name: string;
  /** Where the workqueue_* metrics are registered; none when omitted. */
  registry?: Registry<RegistryContentType>;
  /** For `addRateLimited`; client-go's default controller rate limiter when omitted. */
  rateLimiter?: RateLimiter;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

/**
 * A rate-limited, delaying work queue with client-go's semantics:
 * - a key is queued at most once (`dirty`), and never handed to two workers at once (`processing`): a key added
 *   while it is being processed is queued again when the worker calls `done`;
 * - `addAfter` parks a key until its time, keeping the earliest time when the key is parked twice;
 * - `addRateLimited` parks a key for the rate limiter's delay; `forget` resets its backoff;
 * - after `shutDown`, adds are ignored and `get` keeps handing out what is queued, then resolves `undefined`.
 */
export class WorkQueue {
  readonly labels: Record<Label, string>;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly rateLimiter: RateLimiter;
  private readonly now: () => number;
  private readonly metrics: WorkqueueMetrics | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private waitTimerAt = Number.POSITIVE_INFINITY;
  private shuttingDown = false;
  private drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions) {
    this.labels = { name: options.name, controller: options.name };
    this.now = options.now ?? (() => performance.now());
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.metrics = options.registry ? workqueueMetrics(options.registry) : undefined;
    this.metrics?.queues.add(this);
    this.metrics?.depth.set(this.labels, 0);
    // Counters start at 0, as client-go's do: a queue that never retried shows 0 rather than no series at all.
    this.metrics?.adds.inc(this.labels, 0);
    this.metrics?.retries.inc(this.labels, 0);
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.adds.inc(this.labels);
    this.metrics?.depth.inc(this.labels);
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.now());
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` once `delayMs` has passed; an earlier pending time for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.now() + delayMs;
    const current = this.waiting.get(key);
    if (current !== undefined && current <= readyAt) return;
    this.waiting.set(key, readyAt);
    this.scheduleWaiting();
  }

  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retries.inc(this.labels);
    this.addAfter(key, this.rateLimiter.when(key));
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process, waiting for one; `undefined` once the queue is shut down and empty. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it goes back in the queue. */
  done(key: string): void {
    const started = this.startedAt.get(key);
    if (started !== undefined) {
      this.metrics?.workDuration.observe(this.labels, (this.now() - started) / 1000);
      this.startedAt.delete(key);
    }
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
    else if (this.processing.size === 0) this.drained?.();
  }

  /** Queued keys (not those parked by addAfter, nor those being processed). */
  len(): number {
    return this.queue.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting keys, drops parked ones and wakes idle `get` callers with `undefined`. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.waiting.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /** `shutDown`, then waits until every key handed out has been marked `done`. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }

  /** Stops reporting this queue's scrape-time gauges (after shutdown). */
  unregister(): void {
    this.metrics?.queues.delete(this);
  }

  unfinishedWorkSeconds(): number {
    const now = this.now();
    let total = 0;
    for (const started of this.startedAt.values()) total += now - started;
    return total / 1000;
  }

  longestRunningProcessorSeconds(): number {
    const now = this.now();
    let longest = 0;
    for (const started of this.startedAt.values()) longest = Math.max(longest, now - started);
    return longest / 1000;
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.take(key));
    else this.queue.push(key);
  }

  private take(key: string): string {
    const now = this.now();
    this.processing.add(key);
    this.dirty.delete(key);
    this.metrics?.depth.dec(this.labels);
    const added = this.addedAt.get(key);
    if (added !== undefined) {
      this.metrics?.queueDuration.observe(this.labels, (now - added) / 1000);
      this.addedAt.delete(key);
    }
    this.startedAt.set(key, now);
    return key;
  }

  // One timer for the earliest parked key; a linear scan is fine for an operator's few thousand keys at most.
  private scheduleWaiting(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const at of this.waiting.values()) earliest = Math.min(earliest, at);
    if (earliest === this.waitTimerAt) return;
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.waitTimerAt = earliest;
    if (!Number.isFinite(earliest)) return;
    this.waitTimer = setTimeout(() => this.releaseDue(), Math.max(0, earliest - this.now()));
  }

  private releaseDue(): void {
    this.waitTimer = undefined;
    this.waitTimerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    const due = [...this.waiting].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [key] of due) {
      this.waiting.delete(key);
      this.add(key);
    }
    this.scheduleWaiting();
  }
}
