import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startServiceProcess, type ServiceProcess } from '@obsdemo/testenv';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import pg from 'pg';
import { CACHE_INVALIDATION_SUBJECT } from '../../src/cache/invalidation.js';
import { catalogEnv, eventually, request, startCatalog, startDataplane, type Dataplane } from './harness.js';

/**
 * Two (and for the TTL case three) real catalog processes on one Postgres database and one NATS, as replicas of
 * one Deployment run. The default TTL (60 s) is far longer than any wait here, so a replica that shows a change
 * made through another one got it from the invalidation, not from expiry.
 */

const catalogDir = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(catalogDir, '..', '..');
const DATABASE = 'catalog_cache';
const CACHE = 'catalog_products';

let dp: Dataplane;
let a: ServiceProcess;
let b: ServiceProcess;
let db: pg.Client;

/** A catalog process or an in-process instance: anything with a base URL. */
type Replica = Pick<ServiceProcess, 'url'>;

function startReplica(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  return startServiceProcess({
    service: 'catalog',
    env: catalogEnv(dp, DATABASE, { LOG_LEVEL: 'warn', ...extra }),
    portEnv: 'CATALOG_PORT',
    nodeArgs: ['--import', '@obsdemo/telemetry/register'],
  });
}

beforeAll(async () => {
  // The replicas run the compiled service exactly as the container does, so make sure dist/ is current.
  execFileSync(process.execPath, [
    join(repoRoot, 'node_modules/typescript/bin/tsc'),
    '-b',
    join(catalogDir, 'tsconfig.json'),
  ]);
  dp = await startDataplane();
  await dp.pg.createDatabase(DATABASE);
  a = await startReplica();
  b = await startReplica();
  db = new pg.Client({
    host: dp.pg.host,
    port: dp.pg.port,
    user: dp.pg.user,
    password: dp.pg.password,
    database: DATABASE,
  });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await a?.stop();
  await b?.stop();
  await dp?.stop();
});

/** Sum of the samples of `name` whose labels include `labels` (other labels, e.g. service, are ignored). */
async function metric(replica: Replica, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const pairs = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => pairs.includes(`${k}="${v}"`))) total += Number(match[3]);
  }
  return total;
}

const hits = (r: Replica) => metric(r, 'cache_requests_total', { cache: CACHE, result: 'hit' });
const misses = (r: Replica) => metric(r, 'cache_requests_total', { cache: CACHE, result: 'miss' });
const applied = (r: Replica) =>
  metric(r, 'cache_invalidations_received_total', { cache: CACHE, outcome: 'applied' });

async function getProduct(r: Replica, id: number): Promise<Record<string, unknown>> {
  const res = await request(r.url, 'GET', `/products/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/**
 * Reads `path` on `r` twice and proves the second read was served wholly from the cache: one hit for a product,
 * and for a list page one for its skeleton plus one per product entry it is filled from.
 */
async function warm(r: Replica, path: string): Promise<Record<string, unknown>> {
  expect((await request(r.url, 'GET', path)).status).toBe(200);
  const before = { hits: await hits(r), misses: await misses(r) };
  const res = await request(r.url, 'GET', path);
  expect(res.status).toBe(200);
  const items = res.body['items'];
  const lookups = Array.isArray(items) ? 1 + items.length : 1;
  expect({ hits: await hits(r), misses: await misses(r) }).toEqual({
    hits: before.hits + lookups,
    misses: before.misses,
  });
  return res.body;
}

interface DbProduct {
  id: number;
  sku: string;
  name: string;
  category: string;
  stock: number;
  price_cents: number;
}

async function dbProducts(): Promise<DbProduct[]> {
  const { rows } = await db.query<DbProduct>(
    'SELECT id, sku, name, category, stock, price_cents FROM products ORDER BY id',
  );
  return rows;
}

describe('catalog read cache across two replicas', () => {
  it('shows an update made through replica A on replica B, which had it cached, after the invalidation', async () => {
    const cached = await warm(b, '/products/3');
    const page = await warm(b, '/products?pageSize=5');
    const appliedBefore = await applied(b);
    const name = `Renamed ${Date.now()}`;

    const res = await request(a.url, 'PATCH', '/products/3', { name, price: 12.34 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 3, name, price: 12.34, sku: cached['sku'] });

    const seen = await eventually(
      'replica B serves the new name',
      () => getProduct(b, 3),
      (p) => p['name'] === name,
      10_000,
    );
    expect(seen).toEqual({ ...cached, name, price: 12.34 });
    const items = (await request(b.url, 'GET', '/products?pageSize=5')).body['items'] as { id: number }[];
    expect(items).toContainEqual(expect.objectContaining({ id: 3, name }));
    expect(items.map((i) => i.id)).toEqual((page['items'] as { id: number }[]).map((i) => i.id));
    expect(await applied(b)).toBeGreaterThan(appliedBefore);
  });

  it("updates stock in B's product and list pages after an order through A, keeping the list skeleton", async () => {
    const before = await warm(b, '/products/4');
    const path = '/products?page=1&pageSize=10';
    const pageBefore = await warm(b, path);
    const appliedBefore = await applied(b);
    const order = await request(a.url, 'POST', '/orders', {
      customer: 'cache@example.com',
      items: [{ productId: 4, quantity: 2 }],
    });
    expect(order.status).toBe(201);
    const stock = Number(before['stock']) - 2;
    await eventually(
      'replica B applies the invalidation',
      () => applied(b),
      (n) => n > appliedBefore,
      10_000,
    );

    // The page's skeleton survived the stock change: one hit for it and one per unchanged product, one miss for
    // product 4, whose entry the invalidation removed (a lost skeleton would be one miss and no hits).
    const items = pageBefore['items'] as { id: number }[];
    const lookupsBefore = { hits: await hits(b), misses: await misses(b) };
    const page = (await request(b.url, 'GET', path)).body;
    expect(page['items']).toContainEqual(expect.objectContaining({ id: 4, stock }));
    expect({
      hits: (await hits(b)) - lookupsBefore.hits,
      misses: (await misses(b)) - lookupsBefore.misses,
    }).toEqual({
      hits: items.length,
      misses: 1,
    });
    expect(page).toEqual({
      ...pageBefore,
      items: items.map((item) => (item.id === 4 ? { ...item, stock } : item)),
    });
    // Now wholly from the cache, with the new stock.
    expect(await warm(b, path)).toEqual(page);
    expect(await getProduct(b, 4)).toEqual({ ...before, stock });
  });

  it('lists a product created through replica A on replica B', async () => {
    const before = await warm(b, '/products?category=Cache');
    const created = await request(a.url, 'POST', '/products', {
      sku: 'CACHE-NEW-1',
      name: 'Fresh',
      category: 'Cache',
      price: 1,
      stock: 1,
    });
    expect(created.status).toBe(201);
    const page = await eventually(
      'replica B lists the new product',
      async () => (await request(b.url, 'GET', '/products?category=Cache')).body,
      (p) => p['total'] === Number(before['total']) + 1,
      10_000,
    );
    expect(page['items']).toContainEqual(expect.objectContaining({ id: created.body['id'], name: 'Fresh' }));
  });

  it('moves a product between category pages on both replicas when its category changes', async () => {
    const created = await request(a.url, 'POST', '/products', {
      sku: 'CACHE-MOVE-1',
      name: 'Mover',
      category: 'Move From',
      price: 3,
      stock: 5,
    });
    expect(created.status).toBe(201);
    const id = created.body['id'];
    const ids = (page: Record<string, unknown>) => (page['items'] as { id: number }[]).map((p) => p.id);
    const read = async (r: Replica, category: string) =>
      (await request(r.url, 'GET', `/products?category=${encodeURIComponent(category)}`)).body;
    for (const r of [a, b]) {
      // Wait for B to see the creation, then hold both category pages and the product itself in the cache.
      await eventually(
        'the new product is listed',
        () => read(r, 'Move From'),
        (p) => ids(p).includes(id as number),
        10_000,
      );
      expect(ids(await warm(r, '/products?category=Move%20From'))).toEqual([id]);
      expect(ids(await warm(r, '/products?category=Move%20To'))).toEqual([]);
      await warm(r, `/products/${id}`);
    }

    const moved = await request(a.url, 'PATCH', `/products/${id}`, { category: 'Move To' });
    expect(moved.status).toBe(200);
    for (const r of [a, b]) {
      const to = await eventually(
        'the product is listed in its new category',
        () => read(r, 'Move To'),
        (p) => ids(p).includes(id as number),
        10_000,
      );
      expect(to).toMatchObject({ total: 1, items: [expect.objectContaining({ id, category: 'Move To' })] });
      expect(await read(r, 'Move From')).toMatchObject({ total: 0, items: [] });
      expect(await getProduct(r, id as number)).toMatchObject({ id, category: 'Move To' });
    }
  });

  it("never serves one product's data for another id or page", async () => {
    for (let i = 0; i < 30; i++) {
      const via = i % 2 === 0 ? a : b;
      const res = await request(via.url, 'POST', '/products', {
        sku: `CACHE-MANY-${i}`,
        name: `Many ${i}`,
        category: `Many ${i % 3}`,
        price: i + 1,
        stock: i,
      });
      expect(res.status).toBe(201);
    }
    let rows = await dbProducts();
    expect(rows.length).toBeGreaterThan(40);
    // Three rounds: the first fills both caches, the later ones are served from them, all reads interleaved.
    // Before each later round an order through A changes stock, so pages mix cached and reloaded products.
    for (let round = 0; round < 3; round++) {
      if (round > 0) {
        const appliedBefore = await applied(b);
        // Products on the pages checked below.
        const targets = rows.slice(7, 21).filter((x) => x.stock > 1);
        const order = await request(a.url, 'POST', '/orders', {
          customer: 'cache@example.com',
          items: [
            { productId: targets[round]?.id, quantity: 1 },
            { productId: targets[round + 5]?.id, quantity: 1 },
          ],
        });
        expect(order.status).toBe(201);
        await eventually(
          'replica B applies the invalidation',
          () => applied(b),
          (n) => n > appliedBefore,
          10_000,
        );
        rows = await dbProducts();
      }
      const answers = await Promise.all(
        rows.flatMap((row) => [a, b].map(async (r) => ({ row, body: await getProduct(r, row.id) }))),
      );
      for (const { row, body } of answers) {
        expect(body).toMatchObject({
          id: row.id,
          sku: row.sku,
          name: row.name,
          category: row.category,
          stock: row.stock,
          price: row.price_cents / 100,
        });
      }
      for (const r of [a, b]) {
        for (const [query, expected] of [
          ['?page=2&pageSize=7', rows.slice(7, 14)],
          ['?page=3&pageSize=7', rows.slice(14, 21)],
          ['?category=Many%201', rows.filter((x) => x.category === 'Many 1')],
        ] as const) {
          const page = (await request(r.url, 'GET', `/products${query}`)).body;
          expect(
            (page['items'] as { id: number; name: string; category: string; stock: number }[]).map((p) => [
              p.id,
              p.name,
              p.category,
              p.stock,
            ]),
          ).toEqual(expected.map((x) => [x.id, x.name, x.category, x.stock]));
        }
      }
    }
    expect(await hits(a)).toBeGreaterThan(rows.length);
    expect(await hits(b)).toBeGreaterThan(rows.length);
  });

  it('measures the propagation delay (publish on A → applied and served by B)', async () => {
    const updates = 30;
    const countBefore = await metric(b, 'cache_invalidation_lag_seconds_count', { cache: CACHE });
    const sumBefore = await metric(b, 'cache_invalidation_lag_seconds_sum', { cache: CACHE });
    const visibleMs: number[] = [];
    for (let i = 0; i < updates; i++) {
      await warm(b, '/products/6');
      const res = await request(a.url, 'PATCH', '/products/6', { stock: 1000 + i });
      expect(res.status).toBe(200);
      const start = performance.now();
      // Tight polling: the figure is how long a client of B could still see the old stock.
      for (;;) {
        if ((await getProduct(b, 6))['stock'] === 1000 + i) break;
        if (performance.now() - start > 10_000) throw new Error(`update ${i} never reached replica B`);
      }
      visibleMs.push(performance.now() - start);
    }
    const count = (await metric(b, 'cache_invalidation_lag_seconds_count', { cache: CACHE })) - countBefore;
    const sum = (await metric(b, 'cache_invalidation_lag_seconds_sum', { cache: CACHE })) - sumBefore;
    expect(count).toBe(updates);
    visibleMs.sort((x, y) => x - y);
    const pct = (p: number) =>
      (visibleMs[Math.min(visibleMs.length - 1, Math.floor(p * visibleMs.length))] ?? 0).toFixed(1);
    console.log(
      `cache invalidation propagation over ${updates} updates: publish→applied on B mean ${((sum / count) * 1000).toFixed(2)} ms ` +
        `(cache_invalidation_lag_seconds); A's 200 → B serves the new value p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms`,
    );
  });

  it('reads an invalidation without `lists` (an older publisher) as a list change', async () => {
    const path = '/products?category=Legacy';
    expect(await warm(b, path)).toMatchObject({ total: 0 });
    // A row no invalidation announced yet, as if an older replica had just created it.
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO products (sku, name, description, category, price_cents, stock, created_at, updated_at)
       VALUES ('CACHE-LEGACY-1', 'Legacy', '', 'Legacy', 100, 1, now(), now()) RETURNING id`,
    );
    const id = rows[0]?.id;
    expect(await warm(b, path)).toMatchObject({ total: 0 });
    const appliedBefore = await applied(b);
    const nc = await connect({ servers: dp.nats.url });
    try {
      nc.publish(
        CACHE_INVALIDATION_SUBJECT,
        JSON.stringify({ v: 1, replica: 'older', productIds: [id], sentAt: Date.now() }),
      );
      await nc.flush();
    } finally {
      await nc.close();
    }
    await eventually(
      'B applies the invalidation',
      () => applied(b),
      (n) => n > appliedBefore,
      10_000,
    );
    expect((await request(b.url, 'GET', path)).body).toMatchObject({
      total: 1,
      items: [expect.objectContaining({ id, name: 'Legacy' })],
    });
  });

  it('clears the whole cache on a malformed invalidation', async () => {
    await warm(b, '/products/8');
    const malformed = () =>
      metric(b, 'cache_invalidations_received_total', { cache: CACHE, outcome: 'malformed' });
    const before = await malformed();
    const nc = await connect({ servers: dp.nats.url });
    try {
      nc.publish(CACHE_INVALIDATION_SUBJECT, JSON.stringify({ v: 1, productIds: ['8'] }));
      await nc.flush();
    } finally {
      await nc.close();
    }
    await eventually('B counts the malformed message', malformed, (n) => n > before, 10_000);
    const hitsBefore = await hits(b);
    await getProduct(b, 8);
    expect(await hits(b)).toBe(hitsBefore);
  });

  it('counts invalidations that cannot be published while NATS is down, and B starts afresh when it is back', async () => {
    await warm(b, '/products/7');
    const failedBefore = await metric(a, 'cache_invalidations_published_total', {
      cache: CACHE,
      outcome: 'failed',
    });
    await dp.nats.stop();
    try {
      // A notices the lost connection asynchronously; until then a publish may still be written to the socket.
      await eventually(
        'A counts a failed invalidation publish',
        async () => {
          const res = await request(a.url, 'PATCH', '/products/7', { description: `outage ${Date.now()}` });
          expect(res.status).toBe(200);
          return metric(a, 'cache_invalidations_published_total', { cache: CACHE, outcome: 'failed' });
        },
        (failed) => failed > failedBefore,
        10_000,
      );
    } finally {
      await dp.nats.start();
    }
    const expected = (
      await db.query<{ description: string }>('SELECT description FROM products WHERE id = 7')
    ).rows[0]?.description;
    // B missed the invalidation; it clears its cache on reconnecting, well before the 60 s TTL.
    await eventually(
      'replica B serves the change made during the outage',
      () => getProduct(b, 7),
      (p) => p['description'] === expected,
      20_000,
    );
  });
});

describe('a replica that started while NATS was down', () => {
  it('clears its cache once it reaches NATS, since it may have missed invalidations', async () => {
    await dp.nats.stop();
    const d = await startCatalog(catalogEnv(dp, DATABASE)).catch(async (error: unknown) => {
      await dp.nats.start();
      throw error;
    });
    try {
      const cached = await warm(d, '/products/10');
      const res = await request(a.url, 'PATCH', '/products/10', { stock: Number(cached['stock']) + 1 });
      expect(res.status).toBe(200);
      expect(await getProduct(d, 10)).toEqual(cached);
      await dp.nats.start();
      await eventually(
        'the late replica serves the change made before it connected',
        () => getProduct(d, 10),
        (p) => p['stock'] === res.body['stock'],
        20_000,
      );
    } finally {
      if (!dp.nats.running) await dp.nats.start();
      await d.close();
    }
  });
});

describe('TTL expiry', () => {
  let c: ServiceProcess;

  beforeAll(async () => {
    c = await startReplica({ CACHE_TTL_SECONDS: '2' });
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('serves a change made directly in Postgres (no invalidation) once the TTL has passed', async () => {
    await warm(c, '/products/5');
    const ttlBefore = await metric(c, 'cache_evictions_total', { cache: CACHE, reason: 'ttl' });
    const appliedBefore = await applied(c);
    const name = `Direct ${Date.now()}`;
    await db.query('UPDATE products SET name = $1 WHERE id = 5', [name]);
    await eventually(
      'replica C serves the row changed behind its back',
      () => getProduct(c, 5),
      (p) => p['name'] === name,
      15_000,
    );
    expect(await metric(c, 'cache_evictions_total', { cache: CACHE, reason: 'ttl' })).toBeGreaterThan(
      ttlBefore,
    );
    // Nothing was published for this change, so only the TTL can have ended the cached copy.
    expect(await applied(c)).toBe(appliedBefore);
  });
});
