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

  it('on a list change, invalidates the named products and every list page, and nothing else', async () => {
    const h = makeCache();
    for (const key of [productKey(1), productKey(2), productKey(11), query({}), query({ page: '2' })])
      await h.cache.getOrLoad(key, loader({ v: 0 }).load);
    h.cache.invalidateProducts([1], { lists: true });
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

  it('on any other change, invalidates only the named products', async () => {
    const h = makeCache();
    for (const key of [productKey(1), productKey(2), query({}), query({ page: '2' })])
      await h.cache.getOrLoad(key, loader({ v: 0 }).load);
    h.cache.invalidateProducts([1], { lists: false });
    const again = async (key: string) => {
      const l = loader({ v: 0 });
      await h.cache.getOrLoad(key, l.load);
      return l.calls.n;
    };
    expect(await again(productKey(1))).toBe(1);
    expect(await again(productKey(2))).toBe(0);
    expect(await again(query({}))).toBe(0);
    expect(await again(query({ page: '2' }))).toBe(0);
    expect(await h.metric('cache_evictions_total', { cache: 'products', reason: 'invalidation' })).toBe(1);
  });

  it('does not store a load that overlapped an invalidation (it may have read the old row)', async () => {
    const h = makeCache();
    let release: (v: { v: number }) => void = () => undefined;
    const pending = h.cache.getOrLoad(
      productKey(1),
      () => new Promise<{ v: number }>((resolve) => (release = resolve)),
    );
    h.cache.invalidateProducts([1], { lists: false });
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

interface Row {
  id: number;
  sku: string;
  name: string;
  description: string;
  category: string;
  price: number;
  stock: number;
  createdAt: string;
}

const row = (id: number, category = 'c'): Row => ({
  id,
  sku: `SKU-${id}`,
  name: `p${id}`,
  description: '',
  category,
  price: id,
  stock: 100 + id,
  createdAt: '2026-01-01T00:00:00.000Z',
});

/** An in-memory product table with the real service's read semantics (id order, category filter), counting queries. */
function fakeProducts(ids: number[] = [1, 2, 3, 4, 5], category = (id: number) => (id % 2 ? 'odd' : 'even')) {
  const rows = new Map(ids.map((id) => [id, row(id, category(id))]));
  const calls: string[] = [];
  /** Holds the next query of the given kind until released, to overlap it with an invalidation. */
  const gates: { list?: Promise<void>; many?: Promise<void> } = {};
  const copy = (r: Row): Row => ({ ...r });
  const service: ProductService = {
    async list(q) {
      calls.push(`list ${q.page} ${q.pageSize} ${q.category ?? ''}`);
      await gates.list;
      const matching = [...rows.values()]
        .filter((r) => q.category === undefined || r.category === q.category)
        .sort((x, y) => x.id - y.id);
      const items = matching.slice((q.page - 1) * q.pageSize, q.page * q.pageSize).map(copy);
      return { items, page: q.page, pageSize: q.pageSize, total: matching.length };
    },
    async get(id) {
      calls.push(`get ${id}`);
      const r = rows.get(id);
      if (!r) throw new Error(`product ${id} not found`);
      return copy(r);
    },
    async getMany(wanted) {
      calls.push(`getMany ${wanted.join(',')}`);
      await gates.many;
      // Deliberately not in the order asked for: the cache must put them in the page's order.
      return wanted
        .flatMap((id) => {
          const r = rows.get(id);
          return r ? [copy(r)] : [];
        })
        .reverse();
    },
    create: async () => row(99),
    update: async (id) => row(id),
  };
  return { rows, calls, gates, service };
}

function gate(): { promise: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

const lookups = async (h: Harness) => ({
  hit: await h.metric('cache_requests_total', { cache: 'products', result: 'hit' }),
  miss: await h.metric('cache_requests_total', { cache: 'products', result: 'miss' }),
});

describe('cachedProductService', () => {
  const all = { page: 1, pageSize: 20 };

  it('serves each id its own product, and each list query its own page', async () => {
    const db = fakeProducts([1, 2, 3, 11, 12, 13]);
    const cached = cachedProductService(db.service, makeCache().cache);
    for (let round = 0; round < 2; round++) {
      for (const id of [1, 2, 3, 11]) expect((await cached.get(id)).id).toBe(id);
      expect((await cached.list({ page: 1, pageSize: 2 })).items.map((p) => p.id)).toEqual([1, 2]);
      expect((await cached.list({ page: 2, pageSize: 2 })).items.map((p) => p.id)).toEqual([3, 11]);
      expect((await cached.list({ page: 1, pageSize: 20, category: 'even' })).items.map((p) => p.id)).toEqual(
        [2, 12],
      );
    }
    expect(db.calls).toEqual([
      'get 1',
      'get 2',
      'get 3',
      'get 11',
      'list 1 2 ',
      'list 2 2 ',
      'list 1 20 even',
    ]);
  });

  it('stores a page as a skeleton of ids plus per-product entries, and serves it whole from them', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    const first = await cached.list(all);
    expect(first).toEqual({
      items: [1, 2, 3, 4, 5].map((id) => row(id, id % 2 ? 'odd' : 'even')),
      page: 1,
      pageSize: 20,
      total: 5,
    });
    expect(h.cache.size).toBe(6);
    expect(await lookups(h)).toEqual({ hit: 0, miss: 1 });
    expect(await cached.list(all)).toEqual(first);
    // The skeleton and each of its five products.
    expect(await lookups(h)).toEqual({ hit: 6, miss: 1 });
    expect(h.spans).toEqual([false, true]);
    // The page load filled the product entries: no query for a product read.
    expect((await cached.get(3)).stock).toBe(103);
    expect(db.calls).toEqual(['list 1 20 ']);
  });

  it('after a stock change keeps the skeleton and reloads only the changed product, in one query', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    await cached.list(all);
    await cached.list({ ...all, category: 'odd' });
    for (const id of [2, 3]) db.rows.get(id)!.stock = 7;
    h.cache.invalidateProducts([2, 3], { lists: false });
    db.calls.length = 0;
    const before = await lookups(h);

    const page = await cached.list(all);
    expect(page.items.map((p) => [p.id, p.stock])).toEqual([
      [1, 101],
      [2, 7],
      [3, 7],
      [4, 104],
      [5, 105],
    ]);
    expect(page.total).toBe(5);
    expect(db.calls).toEqual(['getMany 2,3']);
    const after = await lookups(h);
    expect({ hit: after.hit - before.hit, miss: after.miss - before.miss }).toEqual({ hit: 4, miss: 2 });
    expect(h.spans.at(-1)).toBe(false);

    // The other page shares the reloaded entry: no query at all, and the new stock.
    const odd = await cached.list({ ...all, category: 'odd' });
    expect(odd.items.map((p) => [p.id, p.stock])).toEqual([
      [1, 101],
      [3, 7],
      [5, 105],
    ]);
    expect(db.calls).toEqual(['getMany 2,3']);
    expect(h.spans.at(-1)).toBe(true);
  });

  it('reloads every page after a list change (a new product)', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    await cached.list(all);
    db.rows.set(6, row(6, 'even'));
    h.cache.invalidateProducts([6], { lists: true });
    const page = await cached.list(all);
    expect(page.total).toBe(6);
    expect(page.items.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(db.calls).toEqual(['list 1 20 ', 'list 1 20 ']);
  });

  it('drops a skeleton naming a product that no longer exists and loads the page from the database', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    await cached.list(all);
    // Gone without any list invalidation (e.g. deleted behind the API's back): the skeleton is stale.
    db.rows.delete(4);
    h.cache.invalidateProducts([4], { lists: false });
    const page = await cached.list(all);
    expect(page.items.map((p) => p.id)).toEqual([1, 2, 3, 5]);
    expect(page.total).toBe(4);
    expect(db.calls).toEqual(['list 1 20 ', 'getMany 4', 'list 1 20 ']);
    expect(h.spans.at(-1)).toBe(false);
    // The reloaded page replaced the stale skeleton.
    expect((await cached.list(all)).items.map((p) => p.id)).toEqual([1, 2, 3, 5]);
    expect(db.calls).toHaveLength(3);
  });

  it('drops a stale skeleton even when reloading the page fails', async () => {
    const h = makeCache();
    const db = fakeProducts();
    let failing = false;
    const cached = cachedProductService(
      {
        ...db.service,
        list: (q) => (failing ? Promise.reject(new Error('database down')) : db.service.list(q)),
      },
      h.cache,
    );
    await cached.list(all);
    db.rows.delete(4);
    h.cache.invalidateProducts([4], { lists: false });
    failing = true;
    await expect(cached.list(all)).rejects.toThrow('database down');
    failing = false;
    db.calls.length = 0;
    expect((await cached.list(all)).items.map((p) => p.id)).toEqual([1, 2, 3, 5]);
    expect(db.calls).toEqual(['list 1 20 ']);
  });

  it('reloads a category page whose cached product has moved to another category', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    await cached.list({ ...all, category: 'odd' });
    // The product entry is fresh while this page's skeleton is not yet invalidated (another replica's change in
    // flight): the page must not show it under its old category.
    db.rows.get(3)!.category = 'even';
    h.cache.invalidateProducts([3], { lists: false });
    expect((await cached.get(3)).category).toBe('even');
    const odd = await cached.list({ ...all, category: 'odd' });
    expect(odd.items.map((p) => p.id)).toEqual([1, 5]);
    expect(odd.total).toBe(2);
    expect(h.spans.at(-1)).toBe(false);
  });

  it('does not store a page load that overlapped a list change, nor its products', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    const g = gate();
    db.gates.list = g.promise;
    const pending = cached.list(all);
    h.cache.invalidateProducts([9], { lists: true });
    g.release();
    expect((await pending).total).toBe(5);
    expect(h.cache.size).toBe(0);
  });

  it('stores the skeleton but not the products of a page load that overlapped a stock change', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    const g = gate();
    db.gates.list = g.promise;
    const pending = cached.list(all);
    h.cache.invalidateProducts([2], { lists: false });
    g.release();
    await pending;
    db.gates.list = undefined;
    db.calls.length = 0;
    await cached.list(all);
    expect(db.calls).toEqual(['getMany 1,2,3,4,5']);
  });

  it('does not store products whose load overlapped an invalidation', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    await cached.list(all);
    h.cache.invalidateProducts([2], { lists: false });
    const g = gate();
    db.gates.many = g.promise;
    db.rows.get(2)!.stock = 1;
    const pending = cached.list(all);
    // The load may have read the row before this change: returned as read, but never stored.
    h.cache.invalidateProducts([2], { lists: false });
    g.release();
    expect((await pending).items[1]?.stock).toBe(1);
    db.rows.get(2)!.stock = 0;
    db.gates.many = undefined;
    expect((await cached.list(all)).items[1]?.stock).toBe(0);
    expect(db.calls).toEqual(['list 1 20 ', 'getMany 2', 'getMany 2']);
  });

  it('never caches a failed product load for a page', async () => {
    const h = makeCache();
    const db = fakeProducts();
    const cached = cachedProductService(
      { ...db.service, getMany: () => Promise.reject(new Error('database down')) },
      h.cache,
    );
    await cached.list(all);
    h.cache.invalidateProducts([1], { lists: false });
    await expect(cached.list(all)).rejects.toThrow('database down');
    expect(h.cache.size).toBe(5);
  });

  it('when disabled, always loads the page and records nothing', async () => {
    const h = makeCache({ enabled: false });
    const db = fakeProducts();
    const cached = cachedProductService(db.service, h.cache);
    await cached.list(all);
    await cached.list(all);
    expect(db.calls).toEqual(['list 1 20 ', 'list 1 20 ']);
    expect(await lookups(h)).toEqual({ hit: 0, miss: 0 });
    expect(h.spans).toEqual([]);
  });
});
