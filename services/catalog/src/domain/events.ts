import type { OrderCreatedV1 } from '@obsdemo/contracts';
import { fromCents, type PricedLine } from './pricing.js';

export interface CreatedOrder {
  id: number;
  customer: string;
  currency: string;
  totalCents: number;
  createdAt: Date;
}

export function orderCreatedEvent(
  order: CreatedOrder,
  lines: readonly PricedLine[],
  eventId: string,
): OrderCreatedV1 {
  return {
    schemaVersion: 1,
    eventId,
    orderId: order.id,
    occurredAt: order.createdAt.toISOString(),
    customer: order.customer,
    items: lines.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      unitPrice: fromCents(l.unitPriceCents),
    })),
    total: fromCents(order.totalCents),
    currency: order.currency,
  };
}
