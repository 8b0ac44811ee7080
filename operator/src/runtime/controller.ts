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
  map?: MapFunc<T>;
  /** Filters updates (e.g. only generation changes); every update is enqueued when omitted. */
  updatePredicate?: (oldObj: T, newObj: T) => boolean;
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
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly workers: number;
  private readonly logger: RuntimeLogger;
  private readonly tracer: Tracer;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly stopController = new AbortController();
  private readonly reconcileTimeoutMs: number | undefined;
  private readonly onAborted: ControllerOptions['onAborted'];
  private running: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconciler = options.reconcile;
    this.workers = Math.max(1, options.maxConcurrentReconciles ?? 1);
    this.logger = options.logger ?? silentLogger;
    this.tracer = options.tracer ?? trace.getTracer('obsdemo-operator');
    this.reconcileTimeoutMs = options.reconcileTimeoutMs;
    this.onAborted = options.onAborted;
    this.queue = new WorkQueue({
      name: options.name,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
    });
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

  /** Enqueues the keys of an informer's adds, updates and deletes. */
  watch<T extends KubeObject>(informer: Informer<T>, options: WatchOptions<T> = {}): void {
    const enqueue = (obj: T): void => {
      const keys = options.map ? options.map(obj) : objectKey(obj);
      if (keys === undefined) return;
      for (const key of typeof keys === 'string' ? [keys] : keys) this.queue.add(key);
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
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers; the caller has waited for the informers to sync. */
  start(): void {
    if (this.running.length > 0) return;
    this.logger.info('starting workers', { controller: this.name, worker_count: this.workers });
    this.running = Array.from({ length: this.workers }, () => this.worker());
  }

  /** Stops taking keys, aborts the reconcilers' signal and waits for in-flight reconciles to return. */
  async stop(reason: 'shutdown' | 'leadership_lost' = 'shutdown'): Promise<void> {
    if (!this.stopController.signal.aborted)
      this.stopController.abort(
        new ReconcileAbortedError(reason, `controller ${this.name} stopped (${reason.replace('_', ' ')})`),
      );
    await this.queue.shutDownWithDrain();
    await Promise.all(this.running);
    this.queue.unregister();
    this.logger.info('stopped workers', { controller: this.name });
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      // Keys still queued at shutdown are dropped: the next leader reconciles everything from its own list.
      if (this.stopController.signal.aborted) {
        this.queue.done(key);
        continue;
      }
      const labels = { controller: this.name };
      this.metrics?.activeWorkers.inc(labels);
      try {
        await this.reconcileKey(key);
      } finally {
        this.metrics?.activeWorkers.dec(labels);
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
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
    const stop = this.stopController.signal;
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
          this.queue.forget(key);
          this.queue.addAfter(key, outcome.requeueAfter);
          result = 'requeue_after';
          span.setAttribute('obsdemo.requeue_after_ms', outcome.requeueAfter);
        } else if (outcome?.requeue) {
          this.queue.addRateLimited(key);
          result = 'requeue';
        } else {
          this.queue.forget(key);
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
          this.queue.forget(key);
          this.logger.error('reconcile failed permanently', { ...fields, ...errorFields(error) });
        } else {
          this.queue.addRateLimited(key);
          this.logger.warn('reconcile failed, will retry', {
            ...fields,
            retries: this.queue.numRequeues(key),
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
