import { describe, it, expect } from '@jest/globals';
import { CatalogPool } from '../../src/catalog-pool.js';
import { planRequest } from '../../src/scenarios.js';

function pool(products: { id: number; stock: number; category?: string }[], total = products.length) {
  const p = new CatalogPool();
  p.learn({ items: products.map((x) => ({ category: 'audio', ...x })), total, page: 1, pageSize: 20 });
  return p;
}

describe('request planning', () => {
  it('browses first while no product ids are known, whatever was picked', () => {
    const empty = new CatalogPool();
    for (const s of ['order', 'enrich', 'batch', 'browse'] as const) {
      const plan = planRequest(s, empty, () => 0.9);
      expect(plan).toMatchObject({ scenario: 'browse', method: 'GET' });
      expect(plan.path).toMatch(/^\/api\/v1\/catalog\/products\?page=1&pageSize=20$/);
    }
  });

  it('orders 1-3 distinct in-stock products with quantities 1-3 through the processor workflow', () => {
    const p = pool([
      { id: 1, stock: 100 },
      { id: 2, stock: 0 },
      { id: 3, stock: 50 },
      { id: 4, stock: 2 },
    ]);
    for (let i = 0; i < 200; i++) {
      const plan = planRequest('order', p);
      expect(plan.path).toBe('/api/v1/processor/orders/process');
      const body = plan.body as { customer: string; items: { productId: number; quantity: number }[] };
      expect(body.customer).toMatch(/^[a-z]+\.\d+@example\.(com|org|net)$/);
      const ids = body.items.map((i) => i.productId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const item of body.items) {
        expect([1, 3]).toContain(item.productId);
        expect(item.quantity).toBeGreaterThanOrEqual(1);
        expect(item.quantity).toBeLessThanOrEqual(3);
      }
    }
  });

  it('restocks with a new product once everything known is sold out', () => {
    const plan = planRequest('order', pool([{ id: 1, stock: 1 }]), Math.random, 7);
    expect(plan).toMatchObject({ scenario: 'order', method: 'POST', path: '/api/v1/catalog/products' });
    expect(plan.body).toMatchObject({ category: 'audio', stock: 1000 });
    expect((plan.body as { sku: string }).sku).toMatch(/^[A-Z0-9][A-Z0-9-]{2,31}$/);
  });

  it('enriches 2-5 and batches 3-10 known products without duplicates', () => {
    const p = pool(Array.from({ length: 30 }, (_, i) => ({ id: i + 1, stock: 10 })));
    for (let i = 0; i < 100; i++) {
      const enrich = planRequest('enrich', p).body as { productIds: number[] };
      expect(enrich.productIds.length).toBeGreaterThanOrEqual(2);
      expect(enrich.productIds.length).toBeLessThanOrEqual(5);
      expect(new Set(enrich.productIds).size).toBe(enrich.productIds.length);
      const batch = planRequest('batch', p);
      expect(batch.path).toBe('/api/v1/analytics/process-batch');
      const ids = (batch.body as { productIds: number[] }).productIds;
      expect(ids.length).toBeGreaterThanOrEqual(3);
      expect(ids.length).toBeLessThanOrEqual(10);
    }
  });

  it('learns page counts and stock from answers and its own orders', () => {
    const p = pool([{ id: 1, stock: 5 }], 45);
    expect(p.pages).toBe(3);
    p.reserve(1, 4);
    expect(p.inStock(3)).toHaveLength(0);
    p.learn({ id: 1, stock: 9, category: 'audio' });
    expect(p.inStock(3)).toHaveLength(1);
    p.learn({ unrelated: true });
    expect(p.size).toBe(1);
  });
});
