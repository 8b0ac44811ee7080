import { describe, it, expect } from '@jest/globals';
import type { CatalogOrder, CatalogProduct } from '../../src/clients/catalog.js';
import { summarizeOrders, summarizeProducts } from '../../src/domain/analytics.js';
import { enrichOrder, priceBand, stockStatus } from '../../src/domain/enrich.js';
import { afterFailure, canTransition, isTerminal, reclaimable, JOB_STATUSES } from '../../src/domain/jobs.js';

const p = (id: number, category: string, price: number, stock: number): CatalogProduct => ({
  id,
  sku: `SKU-${id}`,
  name: `Product ${id}`,
  category,
  price,
  stock,
});

describe('job state machine', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = JOB_STATUSES.flatMap((from) =>
      JOB_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed).toEqual([
      'queued->running',
      'running->queued',
      'running->running',
      'running->succeeded',
      'running->failed',
    ]);
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['succeeded', 'failed']);
  });

  it('requeues with growing backoff while attempts remain, fails when spent or permanent', () => {
    const policy = { baseMs: 1000, maxMs: 60_000 };
    expect(afterFailure({ attempts: 1, maxAttempts: 3 }, false, policy, () => 1)).toEqual({
      status: 'queued',
      delayMs: 1000,
    });
    expect(afterFailure({ attempts: 2, maxAttempts: 3 }, false, policy, () => 1)).toEqual({
      status: 'queued',
      delayMs: 2000,
    });
    expect(afterFailure({ attempts: 3, maxAttempts: 3 }, false, policy, () => 1)).toEqual({
      status: 'failed',
    });
    expect(afterFailure({ attempts: 1, maxAttempts: 3 }, true, policy, () => 1)).toEqual({
      status: 'failed',
    });
  });

  it('lets an expired lease be reclaimed only while attempts remain', () => {
    expect(reclaimable({ attempts: 1, maxAttempts: 2 })).toBe(true);
    expect(reclaimable({ attempts: 2, maxAttempts: 2 })).toBe(false);
  });
});

describe('analytics', () => {
  it('summarises products per category in exact cents and lists low stock first', () => {
    const summary = summarizeProducts([
      p(1, 'a', 0.1, 3),
      p(2, 'a', 0.2, 3),
      p(3, 'b', 10, 0),
      p(4, 'b', 5, 50),
    ]);
    expect(summary).toEqual({
      products: 4,
      totalStock: 56,
      inventoryValue: 250.9,
      averagePrice: 3.83,
      byCategory: {
        a: { products: 2, stock: 6, inventoryValue: 0.9 },
        b: { products: 2, stock: 50, inventoryValue: 250 },
      },
      lowStock: [
        { id: 3, sku: 'SKU-3', stock: 0 },
        { id: 1, sku: 'SKU-1', stock: 3 },
        { id: 2, sku: 'SKU-2', stock: 3 },
      ],
    });
    expect(summarizeProducts([]).averagePrice).toBe(0);
  });

  it('summarises orders per currency and ranks products by quantity', () => {
    const order = (id: number, currency: string, total: number, items: [number, number][]): CatalogOrder => ({
      id,
      customer: 'c',
      status: 'created',
      currency,
      total,
      createdAt: '2026-01-01T00:00:00.000Z',
      items: items.map(([productId, quantity]) => ({
        productId,
        quantity,
        unitPrice: 1,
        lineTotal: quantity,
      })),
    });
    expect(
      summarizeOrders([
        order(1, 'EUR', 10.1, [[1, 2]]),
        order(2, 'EUR', 0.2, [
          [2, 5],
          [1, 1],
        ]),
        order(3, 'USD', 7, [[3, 1]]),
      ]),
    ).toEqual({
      orders: 3,
      revenue: { EUR: 10.3, USD: 7 },
      averageOrderValue: { EUR: 5.15, USD: 7 },
      itemsSold: 9,
      topProducts: [
        { productId: 2, quantity: 5 },
        { productId: 1, quantity: 3 },
        { productId: 3, quantity: 1 },
      ],
    });
  });
});

describe('enrichment', () => {
  it('bands prices and stock', () => {
    expect([10, 50, 199.99, 200].map(priceBand)).toEqual(['budget', 'standard', 'standard', 'premium']);
    expect([0, 9, 10].map((s) => stockStatus(s))).toEqual(['out_of_stock', 'low', 'in_stock']);
  });

  it('joins order lines with product details and keeps lines whose product is gone', () => {
    const order: CatalogOrder = {
      id: 7,
      customer: 'c',
      status: 'created',
      currency: 'EUR',
      total: 30,
      createdAt: '2026-01-01T00:00:00.000Z',
      items: [
        { productId: 1, quantity: 2, unitPrice: 10, lineTotal: 20 },
        { productId: 9, quantity: 1, unitPrice: 10, lineTotal: 10 },
      ],
    };
    const enriched = enrichOrder(order, [p(1, 'peripherals', 10, 5)]);
    expect(enriched).toMatchObject({ orderId: 7, itemCount: 3, categories: ['peripherals', 'unknown'] });
    expect(enriched.lines.map((l) => [l.productId, l.name])).toEqual([
      [1, 'Product 1'],
      [9, 'unknown'],
    ]);
  });
});
