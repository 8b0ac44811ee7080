import { describe, it, expect } from '@jest/globals';
import { decodeOrderCreated, encodeOrderCreated } from '@obsdemo/contracts';
import fc from 'fast-check';
import { InsufficientStockError, UnknownProductError } from '../../src/domain/errors.js';
import { orderCreatedEvent } from '../../src/domain/events.js';
import { shouldFail } from '../../src/domain/faults.js';
import { priceOrder, toCents } from '../../src/domain/pricing.js';

const products = [
  { id: 1, priceCents: 8999, stock: 5 },
  { id: 2, priceCents: 1299, stock: 100 },
];

describe('priceOrder', () => {
  it('prices lines from the product rows and sums integer cents', () => {
    expect(
      priceOrder(
        [
          { productId: 1, quantity: 2 },
          { productId: 2, quantity: 3 },
        ],
        products,
      ),
    ).toEqual({
      lines: [
        { productId: 1, quantity: 2, unitPriceCents: 8999, lineTotalCents: 17998 },
        { productId: 2, quantity: 3, unitPriceCents: 1299, lineTotalCents: 3897 },
      ],
      totalCents: 21895,
    });
  });

  it('names every unknown product id', () => {
    const run = () =>
      priceOrder(
        [
          { productId: 9, quantity: 1 },
          { productId: 1, quantity: 1 },
          { productId: 7, quantity: 1 },
        ],
        products,
      );
    expect(run).toThrow(UnknownProductError);
    expect(run).toThrow('unknown product id(s): 7, 9');
  });

  it('refuses quantities above stock with the shortage in the details', () => {
    try {
      priceOrder([{ productId: 1, quantity: 6 }], products);
      throw new Error('expected InsufficientStockError');
    } catch (error) {
      expect(error).toBeInstanceOf(InsufficientStockError);
      expect((error as InsufficientStockError).details).toEqual({
        shortages: [{ productId: 1, requested: 6, available: 5 }],
      });
    }
  });

  it('total is always the exact sum of line totals', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            price: fc.integer({ min: 1, max: 10_000_000 }),
            quantity: fc.integer({ min: 1, max: 1000 }),
          }),
          {
            minLength: 1,
            maxLength: 50,
          },
        ),
        (lines) => {
          const rows = lines.map((l, i) => ({ id: i + 1, priceCents: l.price, stock: 1000 }));
          const items = lines.map((l, i) => ({ productId: i + 1, quantity: l.quantity }));
          const { totalCents } = priceOrder(items, rows);
          return (
            Number.isInteger(totalCents) && totalCents === lines.reduce((s, l) => s + l.price * l.quantity, 0)
          );
        },
      ),
    );
  });

  it('converts prices with two decimals to cents without float drift', () => {
    expect(toCents(19.99)).toBe(1999);
    expect(toCents(0.1 + 0.2)).toBe(30);
  });
});

describe('orderCreatedEvent', () => {
  it('produces an event that satisfies the shared v1 contract', () => {
    const event = orderCreatedEvent(
      {
        id: 12,
        customer: 'ada',
        currency: 'EUR',
        totalCents: 21895,
        createdAt: new Date('2026-01-02T03:04:05Z'),
      },
      priceOrder(
        [
          { productId: 1, quantity: 2 },
          { productId: 2, quantity: 3 },
        ],
        products,
      ).lines,
      '6f1c1f5e-8a53-4d0e-9f57-3f0f3b8e2a10',
    );
    expect(decodeOrderCreated(encodeOrderCreated(event))).toEqual({
      schemaVersion: 1,
      eventId: '6f1c1f5e-8a53-4d0e-9f57-3f0f3b8e2a10',
      orderId: 12,
      occurredAt: '2026-01-02T03:04:05.000Z',
      customer: 'ada',
      items: [
        { productId: 1, quantity: 2, unitPrice: 89.99 },
        { productId: 2, quantity: 3, unitPrice: 12.99 },
      ],
      total: 218.95,
      currency: 'EUR',
    });
  });
});

describe('/error decisions', () => {
  it('/error fails with the configured rate', () => {
    expect(shouldFail(0.5, () => 0.49)).toBe(true);
    expect(shouldFail(0.5, () => 0.5)).toBe(false);
    expect(shouldFail(0, () => 0)).toBe(false);
    expect(shouldFail(1, () => 0.999)).toBe(true);
  });
});
