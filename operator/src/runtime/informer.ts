import { Backoff, sleep, type BackoffOptions } from '@obsdemo/base';
import { KubeApiError, isKubeApiError } from './kube-http-client.js';
import type { KubeHttpClient, KubeObject, KubeStatus, ObjectMeta, Query } from './kube-http-client.js';
import { silentLogger, errorFields } from './logger.js';
import type { RuntimeLogger } from './logger.js';
import { MapStore, objectKey } from './store.js';
import type { Store } from './store.js';

export interface DeleteInfo {
  /**
   * The object vanished while the watch was down and was noticed by a relist (client-go's
   * DeletedFinalStateUnknown): the object passed is the last state the cache knew, not its final state.
   */
  finalStateUnknown: boolean;
}

export interface EventHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  /** Also called with the same object twice on resync and for every object still present after a relist. */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T, info: DeleteInfo): void;
}

export interface InformerOptions {
  /** Collection path, e.g. `/api/v1/namespaces/demo/configmaps` (see collectionPath). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of the initial list and relists (`limit`); 500 as client-go. */
  pageSize?: number;
  /** Re-deliver every cached object as an update this often; 0 (default) disables resync. */
  resyncPeriodMs?: number;
  /** The server ends each watch after a random 1–2 × this (client-go: 5 min); the informer then re-watches. */
  minWatchTimeoutSeconds?: number;
  /**
   * No event or bookmark for this long → the watch is presumed dead (half-open connection), aborted and
   * restarted from the last resourceVersion. 5 min by default: kube-apiserver sends the first bookmark of a quiet
   * watch only after ~2 min (measured on v1.36), so a shorter default would race it.
   */
  inactivityTimeoutMs?: number;
  /**
   * Reconnect backoff: client-go's reflector values (800 ms doubling to 30 s, reset after 2 min) with the shared
   * jitter policy of @obsdemo/base (each delay uniform in [ceiling/2, ceiling]).
   */
  backoff?: BackoffOptions;
  logger?: RuntimeLogger;
  random?: () => number;
  /**
   * client-go's SetTransform: applied to every listed or watched object before it is cached and handed to the
   * handlers, to keep only what they need (the cache then holds the trimmed objects). It must keep
   * metadata.name, namespace and resourceVersion.
   */
  transform?: (obj: KubeObject) => KubeObject;
}

/** Drops metadata.managedFields, the largest part of most objects and of no use to a cache. */
export function stripManagedFields(obj: KubeObject): KubeObject {
  const meta = obj.metadata as (ObjectMeta & { managedFields?: unknown }) | undefined;
  if (meta?.managedFields === undefined) return obj;
  const { managedFields: _managedFields, ...metadata } = meta;
  return { ...obj, metadata };
}

/** What an informer needs from the API: KubeHttpClient, or a fake in unit tests. */
export type ListWatchClient = Pick<KubeHttpClient, 'list' | 'watch'>;

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 800, maxMs: 30_000, resetAfterMs: 120_000 };

class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

function isGone(error: unknown): boolean {
  return error instanceof GoneError || isKubeApiError(error, 410);
}

/**
 * A list-watch informer (client-go's Reflector + DeltaFIFO + Indexer, collapsed): lists with pagination, watches
 * from the list's resourceVersion with bookmarks, keeps a cache, and calls handlers with the previous object on
 * updates.
 *
 * Written here because @kubernetes/client-node's informer stops on non-410 errors, ignores bookmarks and has no
 * inactivity timeout. This one never gives up while started: errors reconnect with jittered exponential
 * backoff, a 410 Gone (HTTP or ERROR event) relists, and a relist reports objects that disappeared meanwhile as
 * deletes with `finalStateUnknown`.
 */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache = new MapStore<T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly backoff: Backoff;
  private readonly logger: RuntimeLogger;
  private readonly random: () => number;
  private resourceVersion = '';
  private synced = false;
  private running: Promise<void> | undefined;
  private stopController: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private syncWaiters: (() => void)[] = [];
  private relists = 0;

  constructor(
    private readonly client: ListWatchClient,
    private readonly options: InformerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, this.random);
  }

  get store(): Store<T> {
    return this.cache;
  }

  /** True once the first list has been applied to the cache (and stays true across relists). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once hasSynced(), or when the informer is stopped first. */
  waitForSync(): Promise<void> {
    if (this.synced || this.running === undefined) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The resourceVersion the next watch starts from (the last event, bookmark or list). */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /** How many lists were made since start (1 = only the initial list). */
  listCount(): number {
    return this.relists;
  }

  /** Handlers added after sync first receive an add for every cached object, as client-go does. */
  addEventHandler(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
    if (this.synced) for (const obj of this.cache.list()) this.safely(() => handlers.onAdd?.(obj));
  }

  start(): void {
    if (this.running) return;
    const controller = new AbortController();
    this.stopController = controller;
    this.running = this.run(controller.signal);
    const resync = this.options.resyncPeriodMs ?? 0;
    if (resync > 0) this.resyncTimer = setInterval(() => this.resync(), resync);
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    this.stopController?.abort();
    await this.running;
    this.running = undefined;
    for (const waiter of this.syncWaiters.splice(0)) waiter();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    // A 410 within a second of a fresh list, or watches the server ends at once, back off instead of spinning.
    let listedAt = Number.NEGATIVE_INFINITY;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.listAndReplace(signal);
          needList = false;
          listedAt = performance.now();
        }
        const started = performance.now();
        const events = await this.watch(signal);
        if (events === 0 && performance.now() - started < 1000 && !signal.aborted) {
          await sleep(this.backoff.next(), signal);
        }
      } catch (error) {
        if (signal.aborted) break;
        if (isGone(error)) {
          this.logger.info('resourceVersion too old, relisting', {
            path: this.options.path,
            resourceVersion: this.resourceVersion,
          });
          needList = true;
          if (performance.now() - listedAt >= 1000) continue;
        }
        const delay = this.backoff.next();
        this.logger.warn('list/watch failed, retrying', {
          path: this.options.path,
          retry_in_ms: Math.round(delay),
          attempt: this.backoff.attempts,
          ...errorFields(error),
        });
        await sleep(delay, signal);
      }
    }
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    const next = new Map<string, T>();
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.list<T>(
        this.options.path,
        {
          ...this.selectors(),
          limit: this.options.pageSize ?? 500,
          continue: cont,
        },
        signal,
      );
      // List items come without apiVersion/kind; watch events carry them: make cached objects uniform.
      const kind = page.kind?.replace(/List$/, '');
      for (const listed of page.items) {
        listed.apiVersion ??= page.apiVersion;
        listed.kind ??= kind;
        const item = this.trim(listed);
        next.set(objectKey(item), item);
      }
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont !== undefined && !signal.aborted);
    if (signal.aborted) return;
    this.relists += 1;
    this.backoff.reset();
    this.resourceVersion = resourceVersion;
    const previous = new Map(this.cache.keys().map((k) => [k, this.cache.get(k) as T]));
    const gone = this.cache.replace(next);
    for (const [key, obj] of next) {
      const old = previous.get(key);
      if (old === undefined) this.emit((h) => h.onAdd?.(obj));
      else this.emit((h) => h.onUpdate?.(old, obj));
    }
    for (const obj of gone) this.emit((h) => h.onDelete?.(obj, { finalStateUnknown: true }));
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters.splice(0)) waiter();
    }
    this.logger.debug('listed', { path: this.options.path, count: next.size, resourceVersion });
  }

  // One watch: returns (with the number of events seen) when the server ends it or it is idle for too long;
  // throws on errors.
  private async watch(stop: AbortSignal): Promise<number> {
    const idle = new AbortController();
    const signal = AbortSignal.any([stop, idle.signal]);
    const inactivityMs = this.options.inactivityTimeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), inactivityMs);
    };
    const minTimeout = this.options.minWatchTimeoutSeconds ?? 300;
    const query: Query = {
      ...this.selectors(),
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.floor(minTimeout * (1 + this.random())),
    };
    arm();
    let events = 0;
    try {
      for await (const event of this.client.watch<T>(this.options.path, query, signal)) {
        arm();
        events += 1;
        this.backoff.reset();
        this.apply(event.type, event.object);
      }
    } finally {
      clearTimeout(timer);
    }
    if (idle.signal.aborted && !stop.aborted) {
      this.logger.warn('watch inactive, restarting it', {
        path: this.options.path,
        inactivity_ms: inactivityMs,
      });
    }
    return events;
  }

  private trim(obj: T): T {
    return this.options.transform ? (this.options.transform(obj) as T) : obj;
  }

  private apply(type: string, received: T): void {
    if (type === 'ERROR') {
      const status = received as unknown as KubeStatus;
      const code = status.code ?? 500;
      if (code === 410) throw new GoneError(status.message ?? 'resourceVersion too old');
      throw KubeApiError.fromStatus(code, status, `watch ${this.options.path}`);
    }
    const rv = received.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const object = this.trim(received);
    const key = objectKey(object);
    if (type === 'ADDED' || type === 'MODIFIED') {
      const old = this.cache.set(key, object);
      if (old === undefined) this.emit((h) => h.onAdd?.(object));
      else this.emit((h) => h.onUpdate?.(old, object));
    } else if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit((h) => h.onDelete?.(object, { finalStateUnknown: false }));
    }
    if (rv) this.resourceVersion = rv;
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.cache.list()) this.emit((h) => h.onUpdate?.(obj, obj));
  }

  private selectors(): Query {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private emit(call: (h: EventHandlers<T>) => void): void {
    for (const handlers of this.handlers) this.safely(() => call(handlers));
  }

  // A failing handler must not stop the watch loop nor the other handlers.
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.logger.error('informer event handler failed', { path: this.options.path, ...errorFields(error) });
    }
  }
}
