import type { CatalogOrder, CatalogProduct } from '../clients/catalog.js';

const cents = (amount: number): number => Math.round(amount * 100);
const amount = (c: number): number => c / 100;

export interface CategorySummary {
  products: number;
  stock: number;
  inventoryValue: number;
}

export interface ProductSummary {
  products: number;
  totalStock: number;
  inventoryValue: number;
  averagePrice: number;
  byCategory: Record<string, CategorySummary>;
  lowStock: { id: number; sku: string; stock: number }[];
}

/** Integer cents while summing, so totals do not drift with the number of products. */
export function summarizeProducts(
  products: readonly CatalogProduct[],
  lowStockThreshold = 10,
): ProductSummary {
  const byCategory: Record<string, { products: number; stock: number; valueCents: number }> = {};
  let valueCents = 0;
  let priceCents = 0;
  let stock = 0;
  for (const p of products) {
    const value = cents(p.price) * p.stock;
    const c = (byCategory[p.category] ??= { products: 0, stock: 0, valueCents: 0 });
    c.products += 1;
    c.stock += p.stock;
    c.valueCents += value;
    valueCents += value;
    priceCents += cents(p.price);
    stock += p.stock;
  }
  return {
    products: products.length,
    totalStock: stock,
    inventoryValue: amount(valueCents),
    averagePrice: products.length === 0 ? 0 : amount(Math.round(priceCents / products.length)),
    byCategory: Object.fromEntries(
      Object.entries(byCategory)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, c]) => [
          name,
          { products: c.products, stock: c.stock, inventoryValue: amount(c.valueCents) },
        ]),
    ),
    lowStock: products
      .filter((p) => p.stock < lowStockThreshold)
      .sort((a, b) => a.stock - b.stock || a.id - b.id)
      .map((p) => ({ id: p.id, sku: p.sku, stock: p.stock })),
  };
}

export interface OrderSummary {
  orders: number;
  revenue: Record<string, number>;
  averageOrderValue: Record<string, number>;
  itemsSold: number;
  topProducts: { productId: number; quantity: number }[];
}

/** Revenue per currency: adding amounts in different currencies would be meaningless. */
export function summarizeOrders(orders: readonly CatalogOrder[], top = 5): OrderSummary {
  const revenueCents: Record<string, { sum: number; count: number }> = {};
  const quantities = new Map<number, number>();
  let itemsSold = 0;
  for (const o of orders) {
    const r = (revenueCents[o.currency] ??= { sum: 0, count: 0 });
    r.sum += cents(o.total);
    r.count += 1;
    for (const item of o.items) {
      itemsSold += item.quantity;
      quantities.set(item.productId, (quantities.get(item.productId) ?? 0) + item.quantity);
    }
  }
  const currencies = Object.keys(revenueCents).sort();
  return {
    orders: orders.length,
    revenue: Object.fromEntries(currencies.map((c) => [c, amount(revenueCents[c]?.sum ?? 0)])),
    averageOrderValue: Object.fromEntries(
      currencies.map((c) => {
        const r = revenueCents[c] ?? { sum: 0, count: 1 };
        return [c, amount(Math.round(r.sum / r.count))];
      }),
    ),
    itemsSold,
    topProducts: [...quantities.entries()]
      .sort(([idA, a], [idB, b]) => b - a || idA - idB)
      .slice(0, top)
      .map(([productId, quantity]) => ({ productId, quantity })),
  };
}
