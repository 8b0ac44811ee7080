import { InsufficientStockError, UnknownProductError } from './errors.js';

export interface RequestedItem {
  productId: number;
  quantity: number;
}

export interface PricedProduct {
  id: number;
  priceCents: number;
  stock: number;
}

export interface PricedLine {
  productId: number;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
}

/** Prices come only from the database rows; the client never supplies a price. Integer cents avoid rounding drift. */
export function priceOrder(
  items: readonly RequestedItem[],
  products: readonly PricedProduct[],
): { lines: PricedLine[]; totalCents: number } {
  const byId = new Map(products.map((p) => [p.id, p]));
  const unknown = [...new Set(items.map((i) => i.productId).filter((id) => !byId.has(id)))];
  if (unknown.length > 0) throw new UnknownProductError(unknown.sort((a, b) => a - b));
  const shortages = items
    .map((i) => ({
      productId: i.productId,
      requested: i.quantity,
      available: byId.get(i.productId)?.stock ?? 0,
    }))
    .filter((s) => s.requested > s.available);
  if (shortages.length > 0) throw new InsufficientStockError(shortages);
  const lines = items.map((item) => {
    const unitPriceCents = byId.get(item.productId)?.priceCents ?? 0;
    return { ...item, unitPriceCents, lineTotalCents: unitPriceCents * item.quantity };
  });
  return { lines, totalCents: lines.reduce((sum, l) => sum + l.lineTotalCents, 0) };
}

export const toCents = (amount: number): number => Math.round(amount * 100);
export const fromCents = (cents: number): number => cents / 100;
