import { trace, type Span } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type OpenMetricsContentType, type Registry } from 'prom-client';
import { isListKey, productKey } from './keys.js';

export interface ReadCacheOptions {
  /** The `cache` label on every metric. */
  name: string;
  enabled: boolean;
  maxEntries: number;
  ttlMs: number;
  registry: Registry<OpenMetricsContentType>;
  /** A clock for unit tests; performance.now() otherwise. */
  now?: () => number;
  /** The span that gets `cache.hit`; the active request span unless a test passes its own. */
  activeSpan?: () => Pick<Span, 'setAttribute'> | undefined;
}

/** Why an entry left the cache, as the `reason` label of cache_evictions_total. */
const EVICTION_REASON: Record<LRUCache.DisposeReason, string> = {
  evict: 'capacity',
  expire: 'ttl',
  delete: 'invalidation',
  set: 'replaced',
  fetch: 'fetch',
};

/**
 * A bounded, TTL'd read-through cache of JSON-ready values. Product entries are keyed by id and list pages by
 * their normalized query; a product change removes that product's entries and every list page, because any
 * page may contain it or shift because of it.
 */
export class ReadCache {
  private readonly cache: LRUCache<string, object> | undefined;
  private readonly requests: Counter<'cache' | 'result'>;
  /**
   * Bumped by every invalidation. A load that overlapped an invalidation may have read the old row, so its result
   * is returned but not stored; otherwise it could outlive the invalidation meant to remove it until the TTL.
   */
  private generation = 0;

  constructor(private readonly options: ReadCacheOptions) {
    const { name, registry } = options;
    const evictions = new Counter({
      name: 'cache_evictions_total',
      help: 'Entries removed from a cache, by reason (capacity, ttl, invalidation, replaced).',
      labelNames: ['cache', 'reason'],
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'cache_requests_total',
      help: 'Cache lookups, by result (hit or miss).',
      labelNames: ['cache', 'result'],
      registers: [registry],
    });
    if (options.enabled) {
      this.cache = new LRUCache<string, object>({
        max: options.maxEntries,
        ttl: options.ttlMs,
        ...(options.now ? { perf: { now: options.now } } : {}),
        dispose: (_value, _key, reason) => {
          evictions.inc({ cache: name, reason: EVICTION_REASON[reason] });
        },
      });
    }
    const cache = this.cache;
    new Gauge({
      name: 'cache_entries',
      help: 'Entries currently held by a cache (its size).',
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        // Expired entries are dropped lazily; purge them so the gauge counts only servable entries.
        cache?.purgeStale();
        this.set({ cache: name }, cache?.size ?? 0);
      },
    });
  }

  get enabled(): boolean {
    return this.cache !== undefined;
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  /** The cached value for `key`, or `load()`'s result, which is stored; failures are never cached. */
  async getOrLoad<T extends object>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.cache) return load();
    const cached = this.cache.get(key);
    const hit = cached !== undefined;
    this.requests.inc({ cache: this.options.name, result: hit ? 'hit' : 'miss' });
    (this.options.activeSpan ?? trace.getActiveSpan)()?.setAttribute('cache.hit', hit);
    if (hit) return cached as T;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation) this.cache.set(key, value);
    return value;
  }

  /** Removes the given products and every list page. */
  invalidateProducts(ids: readonly number[]): void {
    this.generation++;
    if (!this.cache) return;
    for (const id of ids) this.cache.delete(productKey(id));
    for (const key of [...this.cache.keys()]) if (isListKey(key)) this.cache.delete(key);
  }

  /** Removes everything, e.g. after invalidations may have been missed. */
  clear(): void {
    this.generation++;
    this.cache?.clear();
  }
}
