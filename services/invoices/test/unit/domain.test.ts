import { describe, it, expect } from '@jest/globals';
import { EventDecodeError, decodeOrderCreated } from '@obsdemo/contracts';
import { decideFailure, exhausted, retryDelayMs } from '../../src/domain/delivery.js';
import { InvoiceMismatchError, computeInvoice, invoiceNumber } from '../../src/domain/invoice.js';

const event = {
  schemaVersion: 1 as const,
  eventId: '3f1c2b8e-8a45-4e4b-9a53-1f6c9d0f2a11',
  orderId: 42,
  occurredAt: '2026-03-01T10:00:00.000Z',
  customer: 'Ada',
  items: [
    { productId: 1, quantity: 3, unitPrice: 0.1 },
    { productId: 2, quantity: 1, unitPrice: 89.99 },
  ],
  total: 90.29,
  currency: 'EUR',
};

describe('computeInvoice', () => {
  it('sums lines in integer cents, adds rounded tax and sets the due date from the payment terms', () => {
    const invoice = computeInvoice(event, { taxRate: 0.2, paymentTermsDays: 30 });
    expect(invoice).toEqual({
      number: 'INV-00000042',
      orderId: 42,
      eventId: event.eventId,
      customer: 'Ada',
      currency: 'EUR',
      subtotalCents: 9029,
      taxRate: 0.2,
      taxCents: 1806,
      totalCents: 10835,
      orderedAt: new Date('2026-03-01T10:00:00.000Z'),
      dueAt: new Date('2026-03-31T10:00:00.000Z'),
      lines: [
        { productId: 1, quantity: 3, unitPriceCents: 10, lineTotalCents: 30 },
        { productId: 2, quantity: 1, unitPriceCents: 8999, lineTotalCents: 8999 },
      ],
    });
  });

  it('refuses an event whose total disagrees with its lines', () => {
    expect(() => computeInvoice({ ...event, total: 90.3 }, { taxRate: 0, paymentTermsDays: 0 })).toThrow(
      InvoiceMismatchError,
    );
  });

  it('numbers invoices from the order id, so a re-created invoice keeps its number', () => {
    expect(invoiceNumber(7)).toBe('INV-00000007');
    expect(invoiceNumber(123_456_789)).toBe('INV-123456789');
  });
});

describe('delivery decisions', () => {
  const policy = { maxAttempts: 4, baseMs: 100, maxMs: 1000 };

  it('parks what can never succeed at once, whatever the delivery count', () => {
    const undecodable = (() => {
      try {
        decodeOrderCreated('not json');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(undecodable).toBeInstanceOf(EventDecodeError);
    expect(decideFailure(undecodable, 1, policy)).toEqual({ action: 'park', reason: 'undecodable' });
    expect(decideFailure(new InvoiceMismatchError('x'), 1, policy)).toEqual({
      action: 'park',
      reason: 'invalid',
    });
  });

  it('retries temporary failures with growing, capped delays until the budget is spent', () => {
    const db = new Error('connection terminated');
    expect([1, 2, 3].map((n) => decideFailure(db, n, policy, () => 1))).toEqual([
      { action: 'retry', delayMs: 100 },
      { action: 'retry', delayMs: 200 },
      { action: 'retry', delayMs: 400 },
    ]);
    expect(decideFailure(db, 4, policy)).toEqual({ action: 'park', reason: 'max_attempts' });
  });

  it('keeps at least half the delay as a floor under the jitter', () => {
    expect(retryDelayMs(1, policy, () => 0)).toBe(50);
    expect(retryDelayMs(10, policy, () => 0)).toBe(500);
    expect(retryDelayMs(10, policy, () => 1)).toBe(1000);
  });

  it('counts a message as exhausted only beyond its delivery budget', () => {
    expect(exhausted(4, policy)).toBe(false);
    expect(exhausted(5, policy)).toBe(true);
  });
});
