import { LRU_EVICTION_REASON, createCacheMetrics, type CacheMetrics } from '@obsdemo/telemetry';
import { trace, type Span } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import type { OpenMetricsContentType, Registry } from 'prom-client';
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

/** A list page as the API returns it. */
export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

/**
 * What the cache keeps for a list page: which products, in which order, and the page's numbers — never product
 * data, which lives only in the per-product entries, so a product change has exactly one entry to remove.
 */
export interface PageSkeleton {
  ids: number[];
  page: number;
  pageSize: number;
  total: number;
}

export interface PageLoaders<T extends { id: number }> {
  /** The whole page from the database: on a skeleton miss, or when a skeleton no longer matches the data. */
  page: () => Promise<Page<T>>;
  /** The given products in one query; ids that no longer exist are left out. */
  many: (ids: readonly number[]) => Promise<T[]>;
  /** Whether a product still belongs on this page (its category); one that does not means the skeleton is stale. */
  fits?: (item: T) => boolean;
}

/** What changed, as far as cached list pages are concerned. */
export interface ProductChange {
  /**
   * Whether pages' membership, order or totals may have changed (a product created, or moved to another
   * category). Stock, price, name and description changes leave every skeleton valid.
   */
  lists: boolean;
}

/**
 * A bounded, TTL'd read-through cache of JSON-ready values. Products are cached by id; a list page by its
 * normalized query, as a skeleton whose items are read from the product entries. A product change removes that
 * product's entry, and every skeleton only when it can change which products a page holds (ProductChange).
 */
export class ReadCache {
  private readonly cache: LRUCache<string, object> | undefined;
  private readonly metrics: CacheMetrics | undefined;
  private readonly activeSpan: () => Pick<Span, 'setAttribute'> | undefined;
  /**
   * Bumped by every invalidation (`products`) and by those that affect list pages (`lists`). A load that
   * overlapped an invalidation may have read old rows, so its result is returned but not stored; otherwise it
   * could outlive the invalidation meant to remove it until the TTL. Two counters, so a stock change during a
   * page load still lets its skeleton (unaffected by stock) be stored.
   */
  private generation = { products: 0, lists: 0 };

  constructor(options: ReadCacheOptions) {
    this.activeSpan = options.activeSpan ?? (() => trace.getActiveSpan());
    if (!options.enabled) return;
    const cache = new LRUCache<string, object>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      ...(options.now ? { perf: { now: options.now } } : {}),
      dispose: (_value, _key, reason) => metrics.evicted(LRU_EVICTION_REASON[reason]),
    });
    const metrics = createCacheMetrics({
      name: options.name,
      registry: options.registry,
      size: () => {
        // Expired entries are dropped lazily; purge them so the gauge counts only servable entries.
        cache.purgeStale();
        return cache.size;
      },
      // A page is several lookups; `cache.hit` describes the whole request, so this class sets it (markSpan).
      activeSpan: () => undefined,
    });
    this.cache = cache;
    this.metrics = metrics;
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
    const cached = this.lookup<T>(key);
    this.markSpan(cached !== undefined);
    if (cached !== undefined) return cached;
    const generation = this.generation.products;
    const value = await load();
    if (generation === this.generation.products) this.cache.set(key, value);
    return value;
  }

  /**
   * A list page: its skeleton under `key`, the items from the product entries, all missing ones loaded in one
   * `many` call and stored. A skeleton naming a product that no longer exists or no longer fits is dropped and the
   * page loaded whole. Every lookup (the skeleton and each product entry) counts in cache_requests_total; the span's
   * `cache.hit` is true only when the whole page came from the cache.
   */
  async getPage<T extends { id: number }>(key: string, load: PageLoaders<T>): Promise<Page<T>> {
    const cache = this.cache;
    if (!cache) return load.page();
    const generation = { ...this.generation };
    const skeleton = this.lookup<PageSkeleton>(key);
    if (skeleton) {
      const items = await this.hydrate(skeleton, load, generation.products);
      if (items) return { items, page: skeleton.page, pageSize: skeleton.pageSize, total: skeleton.total };
      // Only this stale copy: another request may already have stored a fresh one.
      if (cache.peek(key) === skeleton) cache.delete(key);
    } else {
      this.markSpan(false);
    }
    const page = await load.page();
    if (generation.lists === this.generation.lists) {
      const stored: PageSkeleton = {
        ids: page.items.map((item) => item.id),
        page: page.page,
        pageSize: page.pageSize,
        total: page.total,
      };
      cache.set(key, stored);
    }
    if (generation.products === this.generation.products) for (const item of page.items) this.add(item);
    return page;
  }

  /** The skeleton's items in its order, or undefined when it no longer matches the products. */
  private async hydrate<T extends { id: number }>(
    skeleton: PageSkeleton,
    load: PageLoaders<T>,
    generation: number,
  ): Promise<T[] | undefined> {
    const found = new Map<number, T>();
    const missing: number[] = [];
    for (const id of skeleton.ids) {
      const item = this.lookup<T>(productKey(id));
      if (item === undefined) missing.push(id);
      else found.set(id, item);
    }
    const fits = (item: T | undefined): item is T => item !== undefined && (load.fits?.(item) ?? true);
    const cachedFit = [...found.values()].every(fits);
    this.markSpan(cachedFit && missing.length === 0);
    if (!cachedFit) return undefined;
    if (missing.length > 0) {
      const loaded = await load.many(missing);
      const current = generation === this.generation.products;
      for (const item of loaded) {
        found.set(item.id, item);
        if (current) this.add(item);
      }
    }
    const items = skeleton.ids.map((id) => found.get(id));
    return items.every(fits) ? items : undefined;
  }

  /** Removes the given products, and every list skeleton when the change can affect pages. */
  invalidateProducts(ids: readonly number[], change: ProductChange): void {
    this.generation.products++;
    if (change.lists) this.generation.lists++;
    if (!this.cache) return;
    for (const id of ids) this.cache.delete(productKey(id));
    if (change.lists) for (const key of [...this.cache.keys()]) if (isListKey(key)) this.cache.delete(key);
  }

  /** Removes everything, e.g. after invalidations may have been missed. */
  clear(): void {
    this.generation.products++;
    this.generation.lists++;
    this.cache?.clear();
  }

  private lookup<T>(key: string): T | undefined {
    const value = this.cache?.get(key) as T | undefined;
    this.metrics?.lookup(value !== undefined);
    return value;
  }

  /** Stores a product read with a page; an entry already there is just as current, so it is kept. */
  private add(item: { id: number }): void {
    const key = productKey(item.id);
    if (!this.cache?.has(key)) this.cache?.set(key, item);
  }

  private markSpan(hit: boolean): void {
    this.activeSpan()?.setAttribute('cache.hit', hit);
  }
}
