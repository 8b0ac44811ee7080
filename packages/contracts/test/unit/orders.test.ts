import { describe, it, expect } from '@jest/globals';
import {
  decodeOrderCreated,
  encodeOrderCreated,
  EventDecodeError,
  ORDER_CREATED_SUBJECT,
  ORDERS_STREAM,
  ORDERS_SUBJECTS,
  type OrderCreatedV1,
} from '@obsdemo/contracts';

const valid: OrderCreatedV1 = {
  schemaVersion: 1,
  eventId: '6f1c1f5e-8a53-4d0e-9f57-3f0f3b8e2a10',
  orderId: 42,
  occurredAt: '2026-11-23T18:00:00.000Z',
  customer: 'ada@example.com',
  items: [{ productId: 3, quantity: 2, unitPrice: 9.5 }],
  total: 19,
  currency: 'EUR',
};

describe('orders.created contract', () => {
  it('round-trips a valid event', () => {
    expect(decodeOrderCreated(encodeOrderCreated(valid))).toEqual(valid);
  });

  it('binds the subject to the stream', () => {
    expect(ORDERS_STREAM).toBe('ORDERS');
    expect(ORDERS_SUBJECTS).toEqual(['orders.>']);
    expect(ORDER_CREATED_SUBJECT.startsWith('orders.')).toBe(true);
  });

  it('refuses to encode an invalid event and names the field', () => {
    const bad = { ...valid, items: [{ productId: 3, quantity: 0, unitPrice: 9.5 }] };
    expect(() => encodeOrderCreated(bad)).toThrow(/items\.0\.quantity/);
  });

  it('rejects non-JSON payloads with a decode error', () => {
    expect(() => decodeOrderCreated('{nope')).toThrow(EventDecodeError);
  });

  it('rejects unknown schema versions', () => {
    expect(() => decodeOrderCreated(JSON.stringify({ ...valid, schemaVersion: 2 }))).toThrow(/schemaVersion/);
  });

  it('rejects events without items or with a bad currency', () => {
    expect(() => decodeOrderCreated(JSON.stringify({ ...valid, items: [] }))).toThrow(/items/);
    expect(() => decodeOrderCreated(JSON.stringify({ ...valid, currency: 'euro' }))).toThrow(/currency/);
  });

  it('lists every issue in the error', () => {
    try {
      decodeOrderCreated(JSON.stringify({ schemaVersion: 1 }));
      throw new Error('expected a decode error');
    } catch (error) {
      expect(error).toBeInstanceOf(EventDecodeError);
      const paths = (error as EventDecodeError).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['eventId', 'orderId', 'items', 'total']));
    }
  });
});
