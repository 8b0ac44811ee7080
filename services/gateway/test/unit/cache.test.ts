import { describe, it, expect } from '@jest/globals';
import { createRegistry } from '@obsdemo/telemetry';
import { cacheKey, credentialHash } from '../../src/cache/cache-key.js';
import { parseCacheControl, requestPolicy, storableTtlMs } from '../../src/cache/cache-control.js';
import { ResponseCache, type ResponseCacheOptions } from '../../src/cache/response-cache.js';
import { compileRouteAllowList } from '../../src/cache/routes.js';
import { DEFAULT_CACHE_ROUTES, GatewayConfigSchema } from '../../src/config.js';
import { ROUTES } from '../../src/routing.js';

const PREFIXES = ROUTES.map((r) => r.prefix);

describe('Cache-Control parsing', () => {
  it('reads directives case-insensitively, with and without values, across repeated lines', () => {
    const d = parseCacheControl(['Max-Age=60, PRIVATE', 's-maxage="30"']);
    expect([...d.entries()]).toEqual([
      ['max-age', '60'],
      ['private', undefined],
      ['s-maxage', '30'],
    ]);
  });

  it('does not split a quoted value at its commas, and keeps the first of a repeated directive', () => {
    const d = parseCacheControl('no-cache="set-cookie, x-a", max-age=5, max-age=99');
    expect(d.get('no-cache')).toBe('set-cookie, x-a');
    expect(d.get('max-age')).toBe('5');
  });

  it('treats an absent or empty header as no directives', () => {
    expect(parseCacheControl(undefined).size).toBe(0);
    expect(parseCacheControl(' , ').size).toBe(0);
  });
});

describe('what a request allows', () => {
  it.each([
    [undefined, true, true],
    ['no-cache', false, true],
    ['max-age=0', false, true],
    ['max-age=10', true, true],
    ['no-store', false, false],
  ])('Cache-Control %p → serve stored %p, store %p', (header, mayServeStored, mayStore) => {
    expect(requestPolicy(header)).toEqual({ mayServeStored, mayStore });
  });
});

describe('how long a response may be stored', () => {
  it.each([
    ['no-store', 0, undefined],
    ['private, max-age=60', 0, undefined],
    ['no-cache', 60, undefined],
    ['public, max-age=0', 60, undefined],
    ['max-age=60', 0, 60_000],
    ['max-age=60, s-maxage=5', 0, 5_000],
    ['s-maxage=0, max-age=60', 0, undefined],
    ['max-age=soon', 60, undefined],
    [undefined, 0, undefined],
    [undefined, 30, 30_000],
    ['public', 30, 30_000],
  ])('Cache-Control %p with default %p s → %p ms', (header, fallback, ttl) => {
    expect(storableTtlMs(header, undefined, fallback)).toBe(ttl);
  });

  it('subtracts the Age the response already has, and does not store one that is already stale', () => {
    expect(storableTtlMs('max-age=60', '20', 0)).toBe(40_000);
    expect(storableTtlMs('max-age=60', '60', 0)).toBeUndefined();
    expect(storableTtlMs(undefined, '5', 30)).toBe(25_000);
  });
});

describe('cache key', () => {
  it('separates methods, paths and queries', () => {
    const keys = [
      cacheKey('GET', '/a/products', {}),
      cacheKey('HEAD', '/a/products', {}),
      cacheKey('GET', '/a/products?page=2', {}),
      cacheKey('GET', '/a/products/1', {}),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives every distinct Authorization or Cookie its own key and never contains the credential', () => {
    const anonymous = cacheKey('GET', '/p', {});
    const alice = cacheKey('GET', '/p', { authorization: 'Bearer alice-token' });
    const bob = cacheKey('GET', '/p', { authorization: 'Bearer bob-token' });
    const cookie = cacheKey('GET', '/p', { cookie: 'session=alice-token' });
    expect(new Set([anonymous, alice, bob, cookie]).size).toBe(4);
    expect(alice).toBe(cacheKey('GET', '/p', { authorization: 'Bearer alice-token' }));
    expect(alice).not.toContain('alice-token');
    expect(cookie).not.toContain('alice-token');
  });

  it('cannot be fooled by moving text between Authorization and Cookie', () => {
    expect(credentialHash({ authorization: 'a', cookie: 'b' })).not.toBe(
      credentialHash({ authorization: 'a","b' }),
    );
  });
});

describe('route allow-list', () => {
  const allowed = compileRouteAllowList(DEFAULT_CACHE_ROUTES.split(','), PREFIXES);

  it.each([
    ['/api/v1/catalog/products', true],
    ['/api/v1/catalog/products/', true],
    ['/API/v1/catalog/Products/42', true],
    ['/api/v1/catalog/products/%E0%A4%A', true],
    ['/api/v1/catalog/products/42/reviews', false],
    ['/api/v1/catalog/orders', false],
    ['/api/v1/catalog', false],
  ])('%s → %p', (path, expected) => {
    expect(allowed(path)).toBe(expected);
  });

  it('takes wildcards in Express 5 syntax', () => {
    const all = compileRouteAllowList(['/api/v1/invoices/*rest'], PREFIXES);
    expect(all('/api/v1/invoices/a/b')).toBe(true);
    expect(all('/api/v1/invoicesx/a')).toBe(false);
  });

  it('rejects patterns outside the gateway routes and malformed ones', () => {
    expect(() => compileRouteAllowList(['/metrics'], PREFIXES)).toThrow(/not under a gateway route/);
    expect(() => compileRouteAllowList(['/api/v1/catalogue/x'], PREFIXES)).toThrow(/not under/);
    expect(() => compileRouteAllowList(['/api/v1/catalog/products/:'], PREFIXES)).toThrow(
      /not a valid route pattern/,
    );
  });
});

describe('gateway cache and compression config', () => {
  const parse = (env: Record<string, string>) => GatewayConfigSchema.safeParse(env);

  it('is off by default, with the product reads on the allow-list and a 1 KiB compression threshold', () => {
    const config = GatewayConfigSchema.parse({});
    expect(config.GATEWAY_CACHE_ENABLED).toBe(false);
    expect(config.GATEWAY_CACHE_ROUTES).toEqual(['/api/v1/catalog/products', '/api/v1/catalog/products/:id']);
    expect(config.GATEWAY_CACHE_DEFAULT_TTL_SECONDS).toBe(0);
    expect(config.GATEWAY_COMPRESSION_ENABLED).toBe(true);
    expect(config.GATEWAY_COMPRESSION_THRESHOLD_BYTES).toBe(1024);
  });

  it.each([
    [{ GATEWAY_CACHE_ROUTES: '/nope' }, 'GATEWAY_CACHE_ROUTES'],
    [{ GATEWAY_CACHE_ENABLED: 'true', GATEWAY_CACHE_ROUTES: ' , ' }, 'GATEWAY_CACHE_ROUTES'],
    [{ GATEWAY_CACHE_MAX_ENTRIES: '0' }, 'GATEWAY_CACHE_MAX_ENTRIES'],
    [{ GATEWAY_CACHE_DEFAULT_TTL_SECONDS: '-1' }, 'GATEWAY_CACHE_DEFAULT_TTL_SECONDS'],
    [{ GATEWAY_CACHE_ENABLED: 'yes' }, 'GATEWAY_CACHE_ENABLED'],
    [{ GATEWAY_COMPRESSION_THRESHOLD_BYTES: '1k' }, 'GATEWAY_COMPRESSION_THRESHOLD_BYTES'],
  ])('rejects %p', (env, key) => {
    const result = parse(env);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([key]);
  });
});

function makeCache(options: Partial<ResponseCacheOptions> = {}) {
  const registry = createRegistry('test', { defaultMetrics: false });
  const clock = { now: 10_000 };
  const spans: boolean[] = [];
  const cache = new ResponseCache({
    name: 'responses',
    maxEntries: 10,
    maxBytes: 64 * 1024,
    defaultTtlSeconds: 0,
    allowList: compileRouteAllowList(DEFAULT_CACHE_ROUTES.split(','), PREFIXES),
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
  const metric = async (name: string, labels: Record<string, string>) => {
    const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value ?? 0;
  };
  return { cache, clock, spans, metric };
}

const get = (url: string, headers: Record<string, string> = {}) => ({ method: 'GET', url, headers });
/** lru-cache reads its clock at most once per millisecond of real time. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('ResponseCache', () => {
  it('ignores unsafe methods, requests with a body and routes not on the allow-list', () => {
    const { cache, spans } = makeCache();
    expect(cache.lookup({ ...get('/api/v1/catalog/products'), method: 'POST' }, false)).toBeUndefined();
    expect(cache.lookup(get('/api/v1/catalog/products'), true)).toBeUndefined();
    expect(cache.lookup(get('/api/v1/catalog/orders?x=1'), false)).toBeUndefined();
    expect(spans).toEqual([]);
  });

  it('misses, stores, then hits with an Age; counts both and marks the span', async () => {
    const { cache, clock, spans, metric } = makeCache();
    const first = cache.lookup(get('/api/v1/catalog/products?page=1'), false);
    expect(first?.stored).toBeUndefined();
    cache.store(
      first!,
      { 'content-type': 'application/json', 'x-request-id': 'r1' },
      Buffer.from('[]'),
      60_000,
      '3',
    );
    clock.now += 2500;
    await tick();
    const second = cache.lookup(get('/api/v1/catalog/products?page=1'), false);
    expect(second?.stored?.body.toString()).toBe('[]');
    expect(second?.stored?.headers).toEqual({ 'content-type': 'application/json' });
    expect(second?.ageSeconds).toBe(5);
    expect(spans).toEqual([false, true]);
    expect(await metric('cache_requests_total', { cache: 'responses', result: 'hit' })).toBe(1);
    expect(await metric('cache_requests_total', { cache: 'responses', result: 'miss' })).toBe(1);
    expect(await metric('cache_entries', { cache: 'responses' })).toBe(1);
  });

  it('drops the stored answers of a path after a successful write through the gateway, and only then', () => {
    const { cache } = makeCache();
    const store = (url: string, headers: Record<string, string> = {}) => {
      const lookup = cache.lookup(get(url, headers), false)!;
      cache.store(lookup, {}, Buffer.from('{}'), 60_000, undefined);
    };
    store('/api/v1/catalog/products/1');
    store('/api/v1/catalog/products/1', { authorization: 'Bearer a' });
    store('/api/v1/catalog/products/2');
    cache.invalidate('PATCH', '/api/v1/catalog/products/1', 409);
    cache.invalidate('GET', '/api/v1/catalog/products/1', 200);
    expect(cache.size).toBe(3);
    cache.invalidate('PATCH', '/api/v1/catalog/products/1?dry=1', 200);
    expect(cache.lookup(get('/api/v1/catalog/products/1'), false)?.stored).toBeUndefined();
    expect(
      cache.lookup(get('/api/v1/catalog/products/1', { authorization: 'Bearer a' }), false)?.stored,
    ).toBeUndefined();
    expect(cache.lookup(get('/api/v1/catalog/products/2'), false)?.stored).toBeDefined();
  });

  it('does not store an answer fetched before a write to its path invalidated it', () => {
    const { cache } = makeCache();
    const slowRead = cache.lookup(get('/api/v1/catalog/products/1'), false)!;
    const otherRead = cache.lookup(get('/api/v1/catalog/products/2'), false)!;
    cache.invalidate('PATCH', '/api/v1/catalog/products/1', 200);
    cache.store(slowRead, {}, Buffer.from('"before the write"'), 60_000, undefined);
    cache.store(otherRead, {}, Buffer.from('"two"'), 60_000, undefined);
    expect(cache.lookup(get('/api/v1/catalog/products/1'), false)?.stored).toBeUndefined();
    expect(cache.lookup(get('/api/v1/catalog/products/2'), false)?.stored?.body.toString()).toBe('"two"');
    const laterRead = cache.lookup(get('/api/v1/catalog/products/1'), false)!;
    cache.store(laterRead, {}, Buffer.from('"after the write"'), 60_000, undefined);
    expect(cache.lookup(get('/api/v1/catalog/products/1'), false)?.stored?.body.toString()).toBe(
      '"after the write"',
    );
  });

  it('still refuses a stale answer when its invalidation is no longer remembered per path', () => {
    const { cache } = makeCache();
    const slowRead = cache.lookup(get('/api/v1/catalog/products/0'), false)!;
    for (let id = 0; id <= 10_000; id++) cache.invalidate('PATCH', `/api/v1/catalog/products/${id}`, 204);
    cache.store(slowRead, {}, Buffer.from('"stale"'), 60_000, undefined);
    expect(cache.lookup(get('/api/v1/catalog/products/0'), false)?.stored).toBeUndefined();
  });

  it('expires entries after their own TTL and counts the eviction', async () => {
    const { cache, clock, metric } = makeCache();
    const lookup = cache.lookup(get('/api/v1/catalog/products/1'), false)!;
    cache.store(lookup, {}, Buffer.from('{}'), 1000, undefined);
    clock.now += 1001;
    await tick();
    expect(cache.lookup(get('/api/v1/catalog/products/1'), false)?.stored).toBeUndefined();
    expect(await metric('cache_evictions_total', { cache: 'responses', reason: 'ttl' })).toBe(1);
    expect(await metric('cache_entries', { cache: 'responses' })).toBe(0);
  });

  it('skips the stored answer for a request with no-cache, and stores nothing for no-store', () => {
    const { cache } = makeCache();
    const lookup = cache.lookup(get('/api/v1/catalog/products'), false)!;
    cache.store(lookup, {}, Buffer.from('[]'), 60_000, undefined);
    const fresh = cache.lookup(get('/api/v1/catalog/products', { 'cache-control': 'no-cache' }), false);
    expect(fresh).toMatchObject({ key: lookup.key, stored: undefined, mayStore: true });
    const secret = cache.lookup(get('/api/v1/catalog/products', { 'cache-control': 'no-store' }), false);
    expect(secret).toMatchObject({ stored: undefined, mayStore: false });
  });

  it('never serves an answer stored for one Authorization to another', () => {
    const { cache } = makeCache();
    const alice = { authorization: 'Bearer a' };
    const lookup = cache.lookup(get('/api/v1/catalog/products', alice), false)!;
    cache.store(lookup, {}, Buffer.from('"alice"'), 60_000, undefined);
    expect(cache.lookup(get('/api/v1/catalog/products', alice), false)?.stored).toBeDefined();
    expect(
      cache.lookup(get('/api/v1/catalog/products', { authorization: 'Bearer b' }), false)?.stored,
    ).toBeUndefined();
    expect(cache.lookup(get('/api/v1/catalog/products'), false)?.stored).toBeUndefined();
  });

  it('stores only 200s without Set-Cookie, encodings or unknown Vary, for as long as Cache-Control says', () => {
    const { cache } = makeCache({ defaultTtlSeconds: 30 });
    const ok = { statusCode: 200, headers: {} };
    expect(cache.ttlFor(ok)).toBe(30_000);
    expect(cache.ttlFor({ statusCode: 200, headers: { 'cache-control': 'max-age=5' } })).toBe(5_000);
    expect(cache.ttlFor({ statusCode: 200, headers: { 'cache-control': 'no-store' } })).toBeUndefined();
    expect(cache.ttlFor({ statusCode: 404, headers: {} })).toBeUndefined();
    expect(cache.ttlFor({ statusCode: 200, headers: { 'set-cookie': ['a=b'] } })).toBeUndefined();
    expect(cache.ttlFor({ statusCode: 200, headers: { 'content-encoding': 'gzip' } })).toBeUndefined();
    expect(cache.ttlFor({ statusCode: 200, headers: { vary: 'Accept-Encoding' } })).toBe(30_000);
    expect(cache.ttlFor({ statusCode: 200, headers: { vary: 'Accept-Language' } })).toBeUndefined();
  });

  it('evicts the least recently used entry at capacity and counts it', async () => {
    const { cache, metric } = makeCache({ maxEntries: 2 });
    for (const id of [1, 2, 3]) {
      const lookup = cache.lookup(get(`/api/v1/catalog/products/${id}`), false)!;
      cache.store(lookup, {}, Buffer.from(String(id)), 60_000, undefined);
    }
    expect(cache.size).toBe(2);
    expect(cache.lookup(get('/api/v1/catalog/products/1'), false)?.stored).toBeUndefined();
    expect(await metric('cache_evictions_total', { cache: 'responses', reason: 'capacity' })).toBe(1);
  });

  it('limits one body to an eighth of the byte budget', () => {
    const { cache } = makeCache({ maxBytes: 64 * 1024 });
    expect(cache.maxBodyBytes).toBe(8 * 1024);
  });
});
