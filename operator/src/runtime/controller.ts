import { randomUUID } from 'node:crypto';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry, RegistryContentType } from 'prom-client';
import type { EventHandlers, Informer } from './informer.js';
import type { KubeObject } from './kube-http-client.js';
import { errorFields, silentLogger } from './logger.js';
import type { RuntimeLogger } from './logger.js';
import type { RateLimiter } from './rate-limiter.js';
import { objectKey, splitKey } from './store.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileRequest {
  /** `namespace/name` (or `name` for cluster-scoped objects). */
  key: string;
  namespace?: string;
  name: string;
  /**
   * Aborted when the controller stops (leadership lost, shutdown) or the reconcile outlives
   * `reconcileTimeoutMs`: stop writing. Its reason is a ReconcileAbortedError.
   */
  signal: AbortSignal;
}

/** Why a reconcile's signal was aborted. */
export type AbortReason = 'timeout' | 'shutdown' | 'leadership_lost';
const ABORT_REASONS: readonly AbortReason[] = ['timeout', 'shutdown', 'leadership_lost'];

/** The reason of an aborted ReconcileRequest.signal. */
export class ReconcileAbortedError extends Error {
  constructor(
    readonly reason: AbortReason,
    message: string,
  ) {
    super(message);
    this.name = 'ReconcileAbortedError';
  }
}

/**
 * What a reconcile asks for next, as controller-runtime's Result: `requeueAfter` (ms) revisits the key after a
 * delay with backoff reset; `requeue` retries it with the rate limiter's backoff; nothing means done until the
 * next event.
 */
export interface ReconcileResult {
  requeueAfter?: number;
  requeue?: boolean;
}

/** Resolving with nothing (`async` function without return) means done until the next event. */
export type Reconciler = (request: ReconcileRequest) => Promise<ReconcileResult | undefined>;

/** An error retrying cannot fix (invalid spec, missing permission by design): logged and counted, not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Bounded concurrency: at most this many keys are reconciled at once (never the same key twice). 1 default. */
  maxConcurrentReconciles?: number;
  registry?: Registry<RegistryContentType>;
  logger?: RuntimeLogger;
  rateLimiter?: RateLimiter;
  tracer?: Tracer;
  /**
   * A reconcile's signal is aborted after this long (controller-runtime's ReconciliationTimeout); the key is then
   * retried with backoff. None when omitted.
   */
  reconcileTimeoutMs?: number;
  /** Called after a reconcile whose signal was aborted has returned (for an Event). */
  onAborted?: (request: Omit<ReconcileRequest, 'signal'>, reason: AbortReason, error: unknown) => void;
}

/** Maps an event's object to the keys to reconcile (e.g. an owned object to its owner). */
export type MapFunc<T extends KubeObject> = (obj: T) => string | readonly string[] | undefined;

export interface WatchOptions<T extends KubeObject> {
  /** Filters updates (e.g. only generation changes); every update is enqueued when omitted. */
  updatePredicate?: (oldObj: T, newObj: T) => boolean;
}

/** One declared watch: an informer, and how its objects map to the keys this controller reconciles. */
interface Watch {
  informer: Informer<KubeObject>;
  keysOf: (obj: KubeObject) => readonly string[];
  /** The reconciled kind itself (For): its cached objects are all enqueued when the workers start. */
  primary: boolean;
}

/** What exists while the workers run (one leadership term): a queue, the workers, and the term's stop signal. */
interface Term {
  queue: WorkQueue;
  stop: AbortController;
  workers: Promise<void>[];
  /** Set by stop(); resolves once every worker has returned. */
  stopped?: Promise<void>;
  /** True once `stopped` has resolved. */
  over: boolean;
}

type Result = 'success' | 'error' | 'requeue' | 'requeue_after';
const RESULTS: readonly Result[] = ['success', 'error', 'requeue', 'requeue_after'];
// controller-runtime's reconcile_time_seconds buckets.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

interface ControllerMetrics {
  total: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  terminalErrors: Counter<'controller'>;
  time: Histogram<'controller'>;
  activeWorkers: Gauge<'controller'>;
  maxConcurrent: Gauge<'controller'>;
  aborted: Counter<'controller' | 'reason'>;
}

const metricsByRegistry = new WeakMap<Registry<RegistryContentType>, ControllerMetrics>();

function controllerMetrics(registry: Registry<RegistryContentType>): ControllerMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const labelNames = ['controller'] as const;
  const metrics: ControllerMetrics = {
    total: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames,
      registers,
    }),
    terminalErrors: new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames,
      registers,
    }),
    time: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames,
      buckets: RECONCILE_BUCKETS,
      registers,
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames,
      registers,
    }),
    maxConcurrent: new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames,
      registers,
    }),
    // Not one of controller-runtime's (it has none for this), hence our own prefix.
    aborted: new Counter({
      name: 'obsdemo_operator_reconcile_aborted_total',
      help: 'Reconciles whose signal was aborted, per controller and reason (timeout, shutdown, leadership_lost)',
      labelNames: ['controller', 'reason'] as const,
      registers,
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

/**
 * controller-runtime's Controller: informer events become keys in a rate-limited work queue; N workers take keys
 * (one worker per key at a time) and call the reconciler, which re-reads state itself and never trusts the event.
 * Errors retry with per-key backoff, TerminalError does not, success resets the key's backoff.
 *
 * It is built once and its watches are declared once (`for`, `owns`, as controller-runtime's builder): the
 * informers are the caller's (the manager's) and keep running whether or not the workers do. The workers run from
 * `start()` to `stop()`, which may happen again and again (one leadership term each): every run has its own queue
 * and its own stop signal, and events that arrive while the workers are stopped are dropped, since `start()`
 * enqueues every cached object of the `for` informer.
 */
export class Controller {
  readonly name: string;
  private readonly reconciler: Reconciler;
  private readonly workers: number;
  private readonly logger: RuntimeLogger;
  private readonly tracer: Tracer;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly reconcileTimeoutMs: number | undefined;
  private readonly onAborted: ControllerOptions['onAborted'];
  private readonly registry: Registry<RegistryContentType> | undefined;
  private readonly rateLimiter: RateLimiter | undefined;
  private readonly watches: Watch[] = [];
  /** The current (or last) run of the workers; undefined before the first start(). */
  private term: Term | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconciler = options.reconcile;
    this.workers = Math.max(1, options.maxConcurrentReconciles ?? 1);
    this.logger = options.logger ?? silentLogger;
    this.tracer = options.tracer ?? trace.getTracer('obsdemo-operator');
    this.reconcileTimeoutMs = options.reconcileTimeoutMs;
    this.onAborted = options.onAborted;
    this.registry = options.registry;
    this.rateLimiter = options.rateLimiter;
    this.metrics = options.registry ? controllerMetrics(options.registry) : undefined;
    if (this.metrics) {
      const labels = { controller: this.name };
      // controller-runtime exports every series at zero from the start, so rate() works from the first error.
      for (const result of RESULTS) this.metrics.total.inc({ ...labels, result }, 0);
      this.metrics.errors.inc(labels, 0);
      this.metrics.terminalErrors.inc(labels, 0);
      this.metrics.activeWorkers.set(labels, 0);
      this.metrics.maxConcurrent.set(labels, this.workers);
      for (const reason of ABORT_REASONS) this.metrics.aborted.inc({ ...labels, reason }, 0);
    }
  }

  /** Watches the reconciled kind itself (controller-runtime's For): each object's own key is reconciled. */
  for<T extends KubeObject>(informer: Informer<T>, options: WatchOptions<T> = {}): this {
    return this.addWatch(informer, (obj) => [objectKey(obj)], true, options);
  }

  /**
   * Watches objects this controller owns (controller-runtime's Owns): an add, update or delete of one reconciles
   * the owner(s) `ownerKeys` names; objects it maps to nothing are ignored.
   */
  owns<T extends KubeObject>(
    informer: Informer<T>,
    ownerKeys: MapFunc<T>,
    options: WatchOptions<T> = {},
  ): this {
    const keysOf = (obj: T): readonly string[] => {
      const keys = ownerKeys(obj);
      return keys === undefined ? [] : typeof keys === 'string' ? [keys] : keys;
    };
    return this.addWatch(informer, keysOf, false, options);
  }

  /** The informers this controller watches, for the caller to start and wait for before `start()`. */
  informers(): readonly Informer<KubeObject>[] {
    return this.watches.map((w) => w.informer);
  }

  /** Adds a key to the running workers' queue; ignored while they are stopped. */
  enqueue(key: string): void {
    this.term?.queue.add(key);
  }

  /** The current (or last) run's queue. */
  get queue(): WorkQueue {
    if (this.term === undefined) throw new Error(`controller ${this.name} has not been started`);
    return this.term.queue;
  }

  /** True from `start()` until `stop()` is called. */
  isRunning(): boolean {
    return this.term !== undefined && !this.term.stop.signal.aborted;
  }

  /**
   * Starts the workers with a fresh queue holding every cached object of the `for` informers; the caller has
   * waited for the informers to sync. The previous run must have stopped (its `stop()` resolved).
   */
  start(): void {
    if (this.isRunning()) return;
    if (this.term !== undefined && !this.term.over)
      throw new Error(`controller ${this.name} is still stopping`);
    const queue = new WorkQueue({
      name: this.name,
      ...(this.registry ? { registry: this.registry } : {}),
      ...(this.rateLimiter ? { rateLimiter: this.rateLimiter } : {}),
    });
    const term: Term = { queue, stop: new AbortController(), workers: [], over: false };
    this.term = term;
    this.logger.info('starting workers', { controller: this.name, worker_count: this.workers });
    for (const watch of this.watches.filter((w) => w.primary))
      for (const obj of watch.informer.store.list()) for (const key of watch.keysOf(obj)) queue.add(key);
    term.workers = Array.from({ length: this.workers }, () => this.worker(term));
  }

  /**
   * Stops taking keys, aborts the reconcilers' signal and waits for in-flight reconciles to return. Calling it
   * again while it stops waits for the same stop.
   */
  stop(reason: 'shutdown' | 'leadership_lost' = 'shutdown'): Promise<void> {
    const term = this.term;
    if (term === undefined) return Promise.resolve();
    term.stopped ??= this.stopTerm(term, reason);
    return term.stopped;
  }

  private addWatch<T extends KubeObject>(
    informer: Informer<T>,
    keysOf: (obj: T) => readonly string[],
    primary: boolean,
    options: WatchOptions<T>,
  ): this {
    const enqueue = (obj: T): void => {
      for (const key of keysOf(obj)) this.enqueue(key);
    };
    const handlers: EventHandlers<T> = {
      onAdd: enqueue,
      onUpdate: (oldObj, newObj) => {
        if (options.updatePredicate && !options.updatePredicate(oldObj, newObj)) return;
        enqueue(newObj);
      },
      onDelete: enqueue,
    };
    informer.addEventHandler(handlers);
    this.watches.push({
      informer: informer as unknown as Informer<KubeObject>,
      keysOf: keysOf as (obj: KubeObject) => readonly string[],
      primary,
    });
    return this;
  }

  private async stopTerm(term: Term, reason: 'shutdown' | 'leadership_lost'): Promise<void> {
    term.stop.abort(
      new ReconcileAbortedError(reason, `controller ${this.name} stopped (${reason.replace('_', ' ')})`),
    );
    await term.queue.shutDownWithDrain();
    await Promise.all(term.workers);
    term.queue.unregister();
    term.over = true;
    this.logger.info('stopped workers', { controller: this.name });
  }

  private async worker(term: Term): Promise<void> {
    const { queue, stop } = term;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      // Keys still queued at shutdown are dropped: the next leader reconciles everything from its own list.
      if (stop.signal.aborted) {
        queue.done(key);
        continue;
      }
      const labels = { controller: this.name };
      this.metrics?.activeWorkers.inc(labels);
      try {
        await this.reconcileKey(key, term);
      } finally {
        this.metrics?.activeWorkers.dec(labels);
        queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string, term: Term): Promise<void> {
    const queue = term.queue;
    const { namespace, name } = splitKey(key);
    const reconcileId = randomUUID();
    const fields = { controller: this.name, key, reconcile_id: reconcileId };
    const attributes: Record<string, string> = {
      'obsdemo.controller': this.name,
      'obsdemo.resource.name': name,
      'obsdemo.reconcile_id': reconcileId,
    };
    if (namespace !== undefined) attributes['k8s.namespace.name'] = namespace;
    // One signal per reconcile: the controller's stop, or this reconcile's timeout.
    const stop = term.stop.signal;
    const aborter = new AbortController();
    const onStop = () => aborter.abort(stop.reason);
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
    const timeoutMs = this.reconcileTimeoutMs;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              aborter.abort(
                new ReconcileAbortedError(
                  'timeout',
                  `reconcile of ${key} exceeded its timeout of ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
    const request = { key, name, ...(namespace !== undefined ? { namespace } : {}) };
    await this.tracer.startActiveSpan(`reconcile ${this.name}`, { attributes }, async (span) => {
      const started = performance.now();
      let result: Result;
      try {
        const outcome = await this.reconciler({ ...request, signal: aborter.signal });
        if (outcome?.requeueAfter !== undefined && outcome.requeueAfter > 0) {
          queue.forget(key);
          queue.addAfter(key, outcome.requeueAfter);
          result = 'requeue_after';
          span.setAttribute('obsdemo.requeue_after_ms', outcome.requeueAfter);
        } else if (outcome?.requeue) {
          queue.addRateLimited(key);
          result = 'requeue';
        } else {
          queue.forget(key);
          result = 'success';
        }
        this.logger.debug('reconciled', { ...fields, result });
      } catch (error) {
        result = 'error';
        this.metrics?.errors.inc({ controller: this.name });
        if (aborter.signal.aborted) {
          const cause: unknown = aborter.signal.reason;
          const reason = cause instanceof ReconcileAbortedError ? cause.reason : 'shutdown';
          this.metrics?.aborted.inc({ controller: this.name, reason });
          span.setAttribute('obsdemo.reconcile.aborted', reason);
          this.logger.warn('reconcile aborted', { ...fields, reason });
          try {
            this.onAborted?.(request, reason, error);
          } catch (callbackError) {
            this.logger.error('onAborted failed', errorFields(callbackError));
          }
        }
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        if (error instanceof TerminalError) {
          this.metrics?.terminalErrors.inc({ controller: this.name });
          queue.forget(key);
          this.logger.error('reconcile failed permanently', { ...fields, ...errorFields(error) });
        } else {
          queue.addRateLimited(key);
          this.logger.warn('reconcile failed, will retry', {
            ...fields,
            retries: queue.numRequeues(key),
            ...errorFields(error),
          });
        }
      } finally {
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
        span.end();
      }
      this.metrics?.total.inc({ controller: this.name, result });
      this.metrics?.time.observe({ controller: this.name }, (performance.now() - started) / 1000);
    });
  }
}
