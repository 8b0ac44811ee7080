import type { OrderCreated } from '@obsdemo/contracts';

export interface InvoiceLineDraft {
  productId: number;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
}

export interface InvoiceDraft {
  number: string;
  orderId: number;
  eventId: string;
  customer: string;
  currency: string;
  subtotalCents: number;
  taxRate: number;
  taxCents: number;
  totalCents: number;
  orderedAt: Date;
  dueAt: Date;
  lines: InvoiceLineDraft[];
}

/** The event's numbers disagree with each other: retrying cannot fix it, so the message is parked. */
export class InvoiceMismatchError extends Error {
  override name = 'InvoiceMismatchError';
}

export const toCents = (amount: number): number => Math.round(amount * 100);
export const fromCents = (cents: number): number => cents / 100;

/** Derived from the order id so a re-created invoice always gets the same number. */
export function invoiceNumber(orderId: number): string {
  return `INV-${String(orderId).padStart(8, '0')}`;
}

/**
 * Integer cents throughout; the order total in the event must equal the sum of its lines, because an invoice
 * that silently disagrees with the order is worse than one parked for a person to look at.
 */
export function computeInvoice(
  event: OrderCreated,
  options: { taxRate: number; paymentTermsDays: number },
): InvoiceDraft {
  const lines = event.items.map((item) => {
    const unitPriceCents = toCents(item.unitPrice);
    return {
      productId: item.productId,
      quantity: item.quantity,
      unitPriceCents,
      lineTotalCents: unitPriceCents * item.quantity,
    };
  });
  const subtotalCents = lines.reduce((sum, l) => sum + l.lineTotalCents, 0);
  const orderTotalCents = toCents(event.total);
  if (subtotalCents !== orderTotalCents) {
    throw new InvoiceMismatchError(
      `order ${event.orderId}: lines add up to ${fromCents(subtotalCents)} but the order total is ${event.total}`,
    );
  }
  const taxCents = Math.round(subtotalCents * options.taxRate);
  const orderedAt = new Date(event.occurredAt);
  return {
    number: invoiceNumber(event.orderId),
    orderId: event.orderId,
    eventId: event.eventId,
    customer: event.customer,
    currency: event.currency,
    subtotalCents,
    taxRate: options.taxRate,
    taxCents,
    totalCents: subtotalCents + taxCents,
    orderedAt,
    dueAt: new Date(orderedAt.getTime() + options.paymentTermsDays * 86_400_000),
    lines,
  };
}
