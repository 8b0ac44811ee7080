import { describe, it, expect } from '@jest/globals';
import { createRegistry } from '@obsdemo/telemetry';
import { isListKey, listKey, productKey } from '../../src/cache/keys.js';
import { ReadCache, type ReadCacheOptions } from '../../src/cache/read-cache.js';
import { ProductListQuery } from '../../src/schemas.js';
import { cachedProductService } from '../../src/services/cached-products.js';
import type { ProductService } from '../../src/services/products.js';

const query = (q: Record<string, string>) => listKey(ProductListQuery.parse(q));

describe('cache keys', () => {
  it('gives equivalent list queries one key (defaults applied, category trimmed)', () => {
    expect(query({})).toBe(query({ page: '1', pageSize: '20' }));
    expect(query({ category: '  Books ' })).toBe(query({ category: 'Books', page: '1' }));
  });

  it('gives every parameter that changes the answer its own key', () => {
    const keys = [
      query({}),
      query({ page: '2' }),
      query({ pageSize: '21' }),
      query({ category: 'Books' }),
      query({ category: 'books' }),
      query({ page: '2', category: 'Books' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('cannot be confused by separators inside a category', () => {
    const a = listKey({ page: 1, pageSize: 20, category: 'a' });
    const b = listKey({ page: 1, pageSize: 20, category: 'a",1' });
    expect(a).not.toBe(b);
  });

  it('keeps product ids and list pages apart', () => {
    expect(productKey(1)).not.toBe(productKey(11));
    expect(isListKey(productKey(1))).toBe(false);
    expect(isListKey(query({}))).toBe(true);
  });
});

interface Harness {
  cache: ReadCache;
  clock: { now: number };
  spans: boolean[];
  metric(name: string, labels: Record<string, string>): Promise<number>;
}

function makeCache(options: Partial<ReadCacheOptions> = {}): Harness {
  const registry = createRegistry('test', { defaultMetrics: false });
  const clock = { now: 1000 };
  const spans: boolean[] = [];
  const cache = new ReadCache({
    name: 'products',
    enabled: true,
    maxEntries: 100,
    ttlMs: 1000,
    registry,
    now: () => clock.now,
    activeSpan: () => ({
      setAttribute(key: string, value: unknown) {
        if (key === 'cache.hit') spans.push(value === true);
        return this as never;
      },
    }),
    ...options,
  });
  return {
    cache,
    clock,
    spans,
    async metric(name, labels) {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
      return value?.value ?? 0;
    },
  };
}

/** lru-cache reuses its last clock reading for ttlResolution (1 ms of real time); let it read our clock again. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

const loader = (value: { v: number }) => {
  const calls = { n: 0 };
  return {
    calls,
    load: async () => {
      calls.n++;
      return { ...value };
    },
  };
};

describe('ReadCache', () => {
  it('loads once, then serves the stored value, counting misses and hits and marking the span', async () => {
    const h = makeCache();
    const { calls, load } = loader({ v: 1 });
    expect(await h.cache.getOrLoad('k', load)).toEqual({ v: 1 });
    expect(await h.cache.getOrLoad('k', load)).toEqual({ v: 1 });
    expect(calls.n).toBe(1);
    expect(await h.metric('cache_requests_total', { cache: 'products', result: 'miss' })).toBe(1);
    expect(await h.metric('cache_requests_total', { cache: 'products', result: 'hit' })).toBe(1);
    expect(h.spans).toEqual([false, true]);
    expect(await h.metric('cache_entries', { cache: 'products' })).toBe(1);
  });

  it('expires entries after the TTL', async () => {
    const h = makeCache({ ttlMs: 1000 });
    const { calls, load } = loader({ v: 1 });
    await h.cache.getOrLoad('k', load);
    h.clock.now += 999;
    await tick();
    await h.cache.getOrLoad('k', load);
    expect(calls.n).toBe(1);
    h.clock.now += 2;
    await tick();
    await h.cache.getOrLoad('k', load);
    expect(calls.n).toBe(2);
    expect(await h.metric('cache_evictions_total', { cache: 'products', reason: 'ttl' })).toBe(1);
  });

  it('drops expired entries from the size gauge at scrape time', async () => {
    const h = makeCache({ ttlMs: 1000 });
    await h.cache.getOrLoad('a', loader({ v: 1 }).load);
    h.clock.now += 1001;
    await tick();
    expect(await h.metric('cache_entries', { cache: 'products' })).toBe(0);
  });

  it('holds at most maxEntries, evicting the least recently used', async () => {
    const h = makeCache({ maxEntries: 2 });
    const a = loader({ v: 1 });
    await h.cache.getOrLoad('a', a.load);
    await h.cache.getOrLoad('b', loader({ v: 2 }).load);
    await h.cache.getOrLoad('a', a.load);
    await h.cache.getOrLoad('c', loader({ v: 3 }).load);
    expect(h.cache.size).toBe(2);
    await h.cache.getOrLoad('a', a.load);
    expect(a.calls.n).toBe(1);
    const b = loader({ v: 2 });
    await h.cache.getOrLoad('b', b.load);
    expect(b.calls.n).toBe(1);
    expect(await h.metric('cache_evictions_total', { cache: 'products', reason: 'capacity' })).toBe(2);
  });

  it('invalidates the named products and every list page, and nothing else', async () => {
    const h = makeCache();
    for (const key of [productKey(1), productKey(2), productKey(11), query({}), query({ page: '2' })])
      await h.cache.getOrLoad(key, loader({ v: 0 }).load);
    h.cache.invalidateProducts([1]);
    const again = async (key: string) => {
      const l = loader({ v: 0 });
      await h.cache.getOrLoad(key, l.load);
      return l.calls.n;
    };
    expect(await again(productKey(1))).toBe(1);
    expect(await again(query({}))).toBe(1);
    expect(await again(query({ page: '2' }))).toBe(1);
    expect(await again(productKey(2))).toBe(0);
    expect(await again(productKey(11))).toBe(0);
    expect(await h.metric('cache_evictions_total', { cache: 'products', reason: 'invalidation' })).toBe(3);
  });

  it('does not store a load that overlapped an invalidation (it may have read the old row)', async () => {
    const h = makeCache();
    let release: (v: { v: number }) => void = () => undefined;
    const pending = h.cache.getOrLoad(
      productKey(1),
      () => new Promise<{ v: number }>((resolve) => (release = resolve)),
    );
    h.cache.invalidateProducts([1]);
    release({ v: 1 });
    expect(await pending).toEqual({ v: 1 });
    const fresh = loader({ v: 2 });
    expect(await h.cache.getOrLoad(productKey(1), fresh.load)).toEqual({ v: 2 });
    expect(fresh.calls.n).toBe(1);
  });

  it('never caches a failed load', async () => {
    const h = makeCache();
    await expect(h.cache.getOrLoad('k', () => Promise.reject(new Error('not found')))).rejects.toThrow(
      'not found',
    );
    const ok = loader({ v: 1 });
    expect(await h.cache.getOrLoad('k', ok.load)).toEqual({ v: 1 });
    expect(ok.calls.n).toBe(1);
  });

  it('clear() empties it', async () => {
    const h = makeCache();
    await h.cache.getOrLoad('a', loader({ v: 1 }).load);
    h.cache.clear();
    expect(h.cache.size).toBe(0);
  });

  it('when disabled, always loads and records nothing', async () => {
    const h = makeCache({ enabled: false });
    const { calls, load } = loader({ v: 1 });
    await h.cache.getOrLoad('k', load);
    await h.cache.getOrLoad('k', load);
    expect(calls.n).toBe(2);
    expect(h.cache.enabled).toBe(false);
    expect(await h.metric('cache_requests_total', { cache: 'products', result: 'miss' })).toBe(0);
    expect(h.spans).toEqual([]);
  });
});

describe('cachedProductService', () => {
  const product = (id: number) => ({
    id,
    sku: `SKU-${id}`,
    name: `p${id}`,
    description: '',
    category: 'c',
    price: 1,
    stock: id,
    createdAt: '2026-01-01T00:00:00.000Z',
  });

  function fakeProducts() {
    const calls: string[] = [];
    const service: ProductService = {
      get: async (id) => {
        calls.push(`get ${id}`);
        return product(id);
      },
      list: async (q) => {
        calls.push(`list ${q.page} ${q.pageSize} ${q.category ?? ''}`);
        return { items: [product(q.page)], page: q.page, pageSize: q.pageSize, total: 1 };
      },
      create: async () => product(99),
      update: async (id) => product(id),
    };
    return { calls, service };
  }

  it('serves each id its own product, and each list query its own page', async () => {
    const { calls, service } = fakeProducts();
    const cached = cachedProductService(service, makeCache().cache);
    for (let round = 0; round < 2; round++) {
      for (const id of [1, 2, 3, 11]) expect((await cached.get(id)).id).toBe(id);
      expect((await cached.list({ page: 1, pageSize: 20 })).items[0]?.id).toBe(1);
      expect((await cached.list({ page: 2, pageSize: 20 })).items[0]?.id).toBe(2);
      expect((await cached.list({ page: 2, pageSize: 20, category: 'x' })).page).toBe(2);
    }
    expect(calls).toEqual(['get 1', 'get 2', 'get 3', 'get 11', 'list 1 20 ', 'list 2 20 ', 'list 2 20 x']);
  });
});
