import type { CatalogOrder, CatalogProduct } from '../clients/catalog.js';

export type PriceBand = 'budget' | 'standard' | 'premium';
export type StockStatus = 'out_of_stock' | 'low' | 'in_stock';

export function priceBand(price: number): PriceBand {
  if (price < 50) return 'budget';
  if (price < 200) return 'standard';
  return 'premium';
}

export function stockStatus(stock: number, lowThreshold = 10): StockStatus {
  if (stock === 0) return 'out_of_stock';
  return stock < lowThreshold ? 'low' : 'in_stock';
}

export interface EnrichedProduct extends CatalogProduct {
  priceBand: PriceBand;
  stockStatus: StockStatus;
}

export function enrichProduct(product: CatalogProduct): EnrichedProduct {
  return { ...product, priceBand: priceBand(product.price), stockStatus: stockStatus(product.stock) };
}

export interface EnrichedOrder {
  orderId: number;
  customer: string;
  currency: string;
  total: number;
  itemCount: number;
  categories: string[];
  lines: {
    productId: number;
    sku: string;
    name: string;
    category: string;
    priceBand: PriceBand;
    quantity: number;
    unitPrice: number;
    lineTotal: number;
  }[];
}

/** Joins the order's lines with product details; a line whose product vanished keeps its ids and prices. */
export function enrichOrder(order: CatalogOrder, products: readonly CatalogProduct[]): EnrichedOrder {
  const byId = new Map(products.map((p) => [p.id, p]));
  const lines = order.items.map((item) => {
    const product = byId.get(item.productId);
    return {
      productId: item.productId,
      sku: product?.sku ?? 'unknown',
      name: product?.name ?? 'unknown',
      category: product?.category ?? 'unknown',
      priceBand: priceBand(item.unitPrice),
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      lineTotal: item.lineTotal,
    };
  });
  return {
    orderId: order.id,
    customer: order.customer,
    currency: order.currency,
    total: order.total,
    itemCount: lines.reduce((n, l) => n + l.quantity, 0),
    categories: [...new Set(lines.map((l) => l.category))].sort(),
    lines,
  };
}
