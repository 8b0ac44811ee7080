import type { CatalogClient, CatalogOrder, CatalogProduct } from '../clients/catalog.js';
import { summarizeOrders, summarizeProducts } from '../domain/analytics.js';

/** Catalog pages hold at most 100 items; analytics reads at most this many pages of products. */
const PAGE_SIZE = 100;
const MAX_PRODUCT_PAGES = 20;

export function analyticsService(catalog: CatalogClient) {
  async function allProducts(): Promise<CatalogProduct[]> {
    const first = await catalog.listProducts({ page: 1, pageSize: PAGE_SIZE });
    const pages = Math.min(MAX_PRODUCT_PAGES, Math.ceil(first.total / PAGE_SIZE));
    const rest = await Promise.all(
      Array.from({ length: Math.max(0, pages - 1) }, (_, i) =>
        catalog.listProducts({ page: i + 2, pageSize: PAGE_SIZE }),
      ),
    );
    return [first, ...rest].flatMap((p) => p.items);
  }

  async function recentOrders(limit: number): Promise<CatalogOrder[]> {
    const pages = Math.ceil(limit / PAGE_SIZE);
    const results = await Promise.all(
      Array.from({ length: pages }, (_, i) => catalog.listOrders({ page: i + 1, pageSize: PAGE_SIZE })),
    );
    return results.flatMap((p) => p.items).slice(0, limit);
  }

  return {
    products: async () => summarizeProducts(await allProducts()),
    orders: async (query: { limit: number }) => summarizeOrders(await recentOrders(query.limit)),
    /** Health, products and orders fetched in parallel: three sibling CLIENT spans under one request. */
    async report() {
      const [health, products, orders] = await Promise.all([
        catalog.health(),
        allProducts(),
        recentOrders(200),
      ]);
      return {
        generatedAt: new Date().toISOString(),
        catalog: { status: health.status },
        products: summarizeProducts(products),
        orders: summarizeOrders(orders),
      };
    },
  };
}

export type AnalyticsService = ReturnType<typeof analyticsService>;
