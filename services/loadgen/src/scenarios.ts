import type { CatalogPool, KnownProduct } from './catalog-pool.js';
import type { Scenario } from './mix.js';

export interface PlannedRequest {
  /** The scenario actually sent: one that needs product ids falls back to browsing until some are known. */
  scenario: Scenario;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Stock to take off the pool's estimate when the order succeeds. */
  reserves?: { id: number; quantity: number }[];
}

type Random = () => number;

const between = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

/** One element of a non-empty list. */
function one<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('one() needs a non-empty list');
  return item;
}

function sample<T>(random: Random, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) {
    picked.push(...pool.splice(Math.floor(random() * pool.length), 1));
  }
  return picked;
}

const FIRST = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'ken', 'margaret', 'linus', 'radia', 'donald'];
const DOMAINS = ['example.com', 'example.org', 'example.net'];

/** A returning customer base of a few hundred, like a small shop's. */
function customer(random: Random): string {
  const name = one(random, FIRST);
  return `${name}.${between(random, 1, 30)}@${one(random, DOMAINS)}`;
}

function browse(pool: CatalogPool, random: Random): PlannedRequest {
  const products = pool.all();
  const roll = random();
  if (products.length > 0 && roll < 0.3) {
    const product = one(random, products);
    return { scenario: 'browse', method: 'GET', path: `/api/v1/catalog/products/${product.id}` };
  }
  const categories = pool.categories();
  if (categories.length > 0 && roll < 0.5) {
    const category = one(random, categories);
    return {
      scenario: 'browse',
      method: 'GET',
      path: `/api/v1/catalog/products?category=${encodeURIComponent(category)}`,
    };
  }
  return {
    scenario: 'browse',
    method: 'GET',
    path: `/api/v1/catalog/products?page=${between(random, 1, pool.pages)}&pageSize=20`,
  };
}

function order(pool: CatalogPool, random: Random, sequence: number): PlannedRequest {
  const items = sample(random, pool.inStock(3), between(random, 1, 3)).map((p: KnownProduct) => ({
    productId: p.id,
    quantity: between(random, 1, 3),
  }));
  if (items.length === 0) {
    // Everything known is sold out: the shop restocks with a new product, as a merchant would.
    return {
      scenario: 'order',
      method: 'POST',
      path: '/api/v1/catalog/products',
      body: {
        sku: `LG-${Date.now().toString(36).toUpperCase()}-${sequence}`,
        name: `Restocked item ${sequence}`,
        category: pool.categories()[0] ?? 'accessories',
        price: between(random, 5, 500) + 0.99,
        stock: 1000,
      },
    };
  }
  return {
    scenario: 'order',
    method: 'POST',
    path: '/api/v1/processor/orders/process',
    body: { customer: customer(random), items },
    reserves: items.map((i) => ({ id: i.productId, quantity: i.quantity })),
  };
}

function analytics(random: Random): PlannedRequest {
  const roll = random();
  const path =
    roll < 0.5
      ? '/api/v1/analytics/report'
      : roll < 0.75
        ? '/api/v1/analytics/products'
        : `/api/v1/analytics/orders?limit=${between(random, 50, 200)}`;
  return { scenario: 'analytics', method: 'GET', path };
}

function ids(pool: CatalogPool, random: Random, min: number, max: number): number[] {
  return sample(random, pool.all(), between(random, min, max)).map((p) => p.id);
}

/** One HTTP request per scheduled send, so the request rate at the gateway is the configured rate. */
export function planRequest(
  scenario: Scenario,
  pool: CatalogPool,
  random: Random = Math.random,
  sequence = 0,
): PlannedRequest {
  if (scenario === 'analytics') return analytics(random);
  if (scenario === 'browse' || pool.size === 0) return browse(pool, random);
  if (scenario === 'order') return order(pool, random, sequence);
  if (scenario === 'enrich') {
    return {
      scenario,
      method: 'POST',
      path: '/api/v1/processor/products/enrich',
      body: { productIds: ids(pool, random, 2, 5) },
    };
  }
  return {
    scenario,
    method: 'POST',
    path: '/api/v1/analytics/process-batch',
    body: { productIds: ids(pool, random, 3, 10) },
  };
}
