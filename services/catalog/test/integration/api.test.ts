import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  catalogEnv,
  request,
  startCatalog,
  startDataplane,
  type Dataplane,
  type RunningCatalog,
} from './harness.js';

let dp: Dataplane;
let catalog: RunningCatalog;

beforeAll(async () => {
  dp = await startDataplane();
  await dp.pg.createDatabase('catalog_api');
  catalog = await startCatalog(catalogEnv(dp, 'catalog_api'));
});

afterAll(async () => {
  await catalog?.close();
  await dp?.stop();
});

const get = (path: string) => request(catalog.url, 'GET', path);
const post = (path: string, body: unknown, headers?: Record<string, string>) =>
  request(catalog.url, 'POST', path, body, headers);

interface ProductView {
  id: number;
  price: number;
  stock: number;
  category: string;
}

describe('products', () => {
  it('lists the seeded catalogue with pagination', async () => {
    const first = await get('/products?pageSize=5');
    expect(first.status).toBe(200);
    expect(first.body['total']).toBeGreaterThanOrEqual(10);
    expect(first.body['items']).toHaveLength(5);
    const second = await get('/products?pageSize=5&page=2');
    const ids = (page: typeof first) => (page.body['items'] as ProductView[]).map((p) => p.id);
    expect(ids(second).some((id) => ids(first).includes(id))).toBe(false);
  });

  it('filters by category', async () => {
    const res = await get('/products?category=displays');
    const items = res.body['items'] as ProductView[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((p) => p.category === 'displays')).toBe(true);
    expect((await get('/products?category=nothing-here')).body['total']).toBe(0);
  });

  it('gets one product and 404s an unknown id', async () => {
    expect((await get('/products/1')).body).toMatchObject({ id: 1, sku: 'KB-100', price: 89.99 });
    expect(await get('/products/999999')).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'product 999999 not found' },
    });
  });

  it('creates a product and refuses a duplicate sku with 409', async () => {
    const input = { sku: 'TEST-1', name: 'Test', category: 'test', price: 12.5, stock: 3 };
    const created = await post('/products', input);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...input, description: '' });
    expect((await get(`/products/${String(created.body['id'])}`)).body).toMatchObject(input);
    expect((await post('/products', input)).status).toBe(409);
  });

  it('changes only the fields a PATCH names, and the next read shows it', async () => {
    const before = (await get('/products/2')).body;
    const res = await request(catalog.url, 'PATCH', '/products/2', { price: 7.5, stock: 42 });
    expect(res).toEqual({ status: 200, body: { ...before, price: 7.5, stock: 42 } });
    expect((await get('/products/2')).body).toEqual(res.body);
    const page = (await get('/products?pageSize=100')).body['items'] as ProductView[];
    expect(page.find((p) => p.id === 2)).toMatchObject({ price: 7.5, stock: 42 });
  });

  it('404s a PATCH of an unknown product', async () => {
    expect(await request(catalog.url, 'PATCH', '/products/999999', { stock: 1 })).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'product 999999 not found' },
    });
  });

  it.each([
    ['an empty patch', {}],
    ['a new sku', { sku: 'NEW-SKU' }],
    ['negative stock', { stock: -1 }],
    ['a price with three decimals', { price: 1.234 }],
    ['a positive price that rounds to 0 cents', { price: 1e-142 }],
    ['an empty name', { name: ' ' }],
  ])('answers a PATCH with %s with 400', async (_name, body) => {
    const res = await request(catalog.url, 'PATCH', '/products/1', body);
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('validation_error');
  });
});

describe('with the cache switched off', () => {
  let uncached: RunningCatalog;

  beforeAll(async () => {
    uncached = await startCatalog(catalogEnv(dp, 'catalog_api', { CACHE_ENABLED: 'false' }));
  });

  afterAll(async () => {
    await uncached?.close();
  });

  it('reads the database every time and records no cache lookups', async () => {
    await request(uncached.url, 'GET', '/products/1');
    await request(uncached.url, 'GET', '/products/1');
    const metrics = await (await fetch(`${uncached.url}/metrics`)).text();
    // A cache that is off has no series at all, rather than a hit ratio of 0/0 that looks like a broken cache.
    expect(metrics).not.toMatch(/^cache_requests_total\{/m);
    expect(metrics).not.toMatch(/^cache_entries\{/m);
    expect((await request(uncached.url, 'GET', '/info')).body['cache']).toMatchObject({ enabled: false });
  });
});

describe('orders', () => {
  it('prices from the database and computes the total server-side in one transaction', async () => {
    const before = (await get('/products/2')).body as unknown as ProductView;
    const p4 = (await get('/products/4')).body as unknown as ProductView;
    const res = await post('/orders', {
      customer: 'ada@example.com',
      items: [
        { productId: 2, quantity: 3 },
        { productId: 4, quantity: 1 },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body['total']).toBeCloseTo(before.price * 3 + p4.price, 2);
    expect(res.body['items']).toEqual([
      { productId: 2, quantity: 3, unitPrice: before.price, lineTotal: expect.closeTo(before.price * 3, 2) },
      { productId: 4, quantity: 1, unitPrice: p4.price, lineTotal: p4.price },
    ]);
    expect(((await get('/products/2')).body as unknown as ProductView).stock).toBe(before.stock - 3);
    const fetched = await get(`/orders/${String(res.body['id'])}`);
    expect(fetched.body).toEqual(res.body);
    const list = await get('/orders?pageSize=1');
    expect((list.body['items'] as { id: number }[])[0]?.id).toBe(res.body['id']);
  });

  it('rejects an unknown product with 422 and leaves stock untouched', async () => {
    const before = ((await get('/products/1')).body as unknown as ProductView).stock;
    const res = await post('/orders', {
      customer: 'x',
      items: [
        { productId: 1, quantity: 1 },
        { productId: 987654, quantity: 1 },
      ],
    });
    expect(res).toEqual({
      status: 422,
      body: {
        error: 'unknown_product',
        message: 'unknown product id(s): 987654',
        details: { productIds: [987654] },
      },
    });
    expect(((await get('/products/1')).body as unknown as ProductView).stock).toBe(before);
  });

  it('answers 409 when stock is insufficient', async () => {
    const created = await post('/products', {
      sku: 'RARE-1',
      name: 'Rare',
      category: 'test',
      price: 1,
      stock: 1,
    });
    const res = await post('/orders', {
      customer: 'x',
      items: [{ productId: created.body['id'], quantity: 2 }],
    });
    expect(res.status).toBe(409);
    expect(res.body['error']).toBe('insufficient_stock');
  });

  it('sells no more than the stock to concurrent orders, and overlapping orders do not deadlock', async () => {
    const product = async (sku: string, stock: number) =>
      (await post('/products', { sku, name: sku, category: 'test', price: 2, stock })).body['id'] as number;
    const a = await product('RACE-A', 5);
    const b = await product('RACE-B', 100);
    // Every order takes both rows' locks, half of them listing the products the other way round.
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        post('/orders', {
          customer: `race-${i}`,
          items:
            i % 2 === 0
              ? [
                  { productId: a, quantity: 1 },
                  { productId: b, quantity: 1 },
                ]
              : [
                  { productId: b, quantity: 1 },
                  { productId: a, quantity: 1 },
                ],
        }),
      ),
    );
    expect(answers.filter((r) => r.status === 201)).toHaveLength(5);
    expect(answers.filter((r) => r.status !== 201).map((r) => r.body['error'])).toEqual(
      Array(11).fill('insufficient_stock'),
    );
    expect(((await get(`/products/${a}`)).body as unknown as ProductView).stock).toBe(0);
    expect(((await get(`/products/${b}`)).body as unknown as ProductView).stock).toBe(95);
  });

  it('404s an unknown order', async () => {
    expect((await get('/orders/424242')).status).toBe(404);
  });
});

describe('bad input never yields a 5xx', () => {
  const validItem = { productId: 1, quantity: 1 };
  it.each([
    ['malformed JSON', '{"customer": "a", "items": [', 400, 'malformed_json'],
    ['JSON that is not an object', '[1,2,3]', 400, 'validation_error'],
    ['wrong types', { customer: 42, items: 'all' }, 400, 'validation_error'],
    ['zero quantity', { customer: 'a', items: [{ productId: 1, quantity: 0 }] }, 400, 'validation_error'],
    [
      'negative quantity',
      { customer: 'a', items: [{ productId: 1, quantity: -2 }] },
      400,
      'validation_error',
    ],
    [
      'fractional quantity',
      { customer: 'a', items: [{ productId: 1, quantity: 1.5 }] },
      400,
      'validation_error',
    ],
    ['empty items', { customer: 'a', items: [] }, 400, 'validation_error'],
    ['duplicate product', { customer: 'a', items: [validItem, validItem] }, 400, 'validation_error'],
    [
      'a client-supplied price',
      { customer: 'a', items: [{ ...validItem, unitPrice: 0.01 }] },
      400,
      'validation_error',
    ],
    [
      'a huge product id',
      { customer: 'a', items: [{ productId: 1e12, quantity: 1 }] },
      400,
      'validation_error',
    ],
    ['a customer with U+0000', { customer: 'a\u0000b', items: [validItem] }, 400, 'validation_error'],
    [
      'a customer with an unpaired surrogate',
      '{"customer": "a\\ud800", "items": [{"productId": 1, "quantity": 1}]}',
      400,
      'validation_error',
    ],
    ['an oversized body', { customer: 'a'.repeat(10_000), items: [validItem] }, 413, 'payload_too_large'],
  ])('POST /orders with %s', async (_name, body, status, error) => {
    const res = await post('/orders', body);
    expect(res.status).toBe(status);
    expect(res.body['error']).toBe(error);
    expect(typeof res.body['message']).toBe('string');
  });

  it('answers a non-JSON content type with a validation error', async () => {
    const res = await post('/orders', 'customer=a', { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
  });

  it.each([
    '/products?page=0',
    '/products?page=abc',
    '/products?page=1e3',
    '/products?pageSize=101',
    '/products?page=1&page=2',
    '/products?page[$gt]=1',
    '/products?category=%27%20OR%201%3D1--',
    `/products?category=${'a'.repeat(500)}`,
    '/products?__proto__=x',
    '/products?unknown=1',
    '/products/abc',
    '/products/0',
    '/products/1.5',
    '/products/99999999999999',
    '/orders?page=-1',
    '/orders/%00',
    '/slow?delayMs=999999',
    '/error?x=1',
  ])('GET %s → 400 with details', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('validation_error');
    expect(Array.isArray(res.body['details'])).toBe(true);
  });
});

describe('operations endpoints', () => {
  it('serves health, readiness with the postgres check, and info without secrets', async () => {
    expect((await get('/health')).body).toEqual({ status: 'ok' });
    expect((await get('/ready')).body).toEqual({ status: 'ready', checks: { postgres: { status: 'ok' } } });
    const info = await get('/info');
    expect(info.body['name']).toBe('catalog');
    expect(JSON.stringify(info.body)).not.toContain(dp.pg.password);
  });

  it('documents every API route in /openapi.json', async () => {
    const doc = (await get('/openapi.json')).body as { openapi: string; paths: Record<string, object> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/error', '/orders', '/orders/{id}', '/products', '/products/{id}', '/slow'].sort(),
    );
    expect(Object.keys(doc.paths['/products/{id}'] ?? {}).sort()).toEqual(['get', 'patch']);
  });

  it('answers /slow after the requested delay', async () => {
    expect((await get('/slow?delayMs=5')).body).toEqual({ status: 'ok', delayMs: 5 });
  });

  it('exposes RED and database metrics keyed by route template', async () => {
    await get('/products/3');
    const res = await fetch(`${catalog.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/products\/:id",status="200"/);
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/orders",status="400"/);
    expect(text).not.toMatch(/route="\/products\/3"/);
    expect(text).toMatch(/database_queries_total\{operation="select",table="products"/);
    expect(text).toMatch(/database_connection_pool\{status="max",service="catalog"\} 10/);
  });
});
