import { trace, type Span } from '@opentelemetry/api';
import { Counter, Gauge, type OpenMetricsContentType, type Registry } from 'prom-client';

/** Why an entry left a cache, as the `reason` label of cache_evictions_total. */
export type EvictionReason = 'capacity' | 'ttl' | 'invalidation' | 'replaced' | 'fetch';

/** lru-cache's dispose reasons in the words of cache_evictions_total (every cache here is an lru-cache). */
export const LRU_EVICTION_REASON: Record<'evict' | 'expire' | 'delete' | 'set' | 'fetch', EvictionReason> = {
  evict: 'capacity',
  expire: 'ttl',
  delete: 'invalidation',
  set: 'replaced',
  fetch: 'fetch',
};

export interface CacheMetrics {
  /** Counts one lookup and marks the span (the active one unless given) with `cache.hit`. */
  lookup(hit: boolean): void;
  evicted(reason: EvictionReason): void;
}

export interface CacheMetricsOptions {
  /** The `cache` label: one value per cache, the same in every replica. */
  name: string;
  registry: Registry<OpenMetricsContentType>;
  /** Entries the cache holds now; read on every scrape. */
  size: () => number;
  /** The span that gets `cache.hit`; the active request span unless a test passes its own. */
  activeSpan?: () => Pick<Span, 'setAttribute'> | undefined;
}

interface RegistryCacheMetrics {
  requests: Counter<'cache' | 'result'>;
  evictions: Counter<'cache' | 'reason'>;
  sizes: Map<string, () => number>;
}

const perRegistry = new WeakMap<Registry<OpenMetricsContentType>, RegistryCacheMetrics>();

/** One set of metric objects per registry, so several caches in one process share the metric names. */
function metricsOf(registry: Registry<OpenMetricsContentType>): RegistryCacheMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const sizes = new Map<string, () => number>();
  const created: RegistryCacheMetrics = {
    sizes,
    requests: new Counter({
      name: 'cache_requests_total',
      help: 'Cache lookups, by result (hit or miss).',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
    evictions: new Counter({
      name: 'cache_evictions_total',
      help: 'Entries removed from a cache, by reason (capacity, ttl, invalidation, replaced).',
      labelNames: ['cache', 'reason'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'cache_entries',
    help: 'Entries currently held by a cache (its size).',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [cache, size] of sizes) this.set({ cache }, size());
    },
  });
  perRegistry.set(registry, created);
  return created;
}

/**
 * The metrics every cache in the platform reports, so one dashboard panel covers them all:
 * cache_requests_total{cache,result}, cache_evictions_total{cache,reason} and cache_entries{cache}.
 */
export function createCacheMetrics(options: CacheMetricsOptions): CacheMetrics {
  const { name } = options;
  const metrics = metricsOf(options.registry);
  metrics.sizes.set(name, options.size);
  // Both results exist from the start, so a hit ratio is defined before the first hit.
  metrics.requests.inc({ cache: name, result: 'hit' }, 0);
  metrics.requests.inc({ cache: name, result: 'miss' }, 0);
  const activeSpan = options.activeSpan ?? (() => trace.getActiveSpan());
  return {
    lookup(hit) {
      metrics.requests.inc({ cache: name, result: hit ? 'hit' : 'miss' });
      activeSpan()?.setAttribute('cache.hit', hit);
    },
    evicted(reason) {
      metrics.evictions.inc({ cache: name, reason });
    },
  };
}
