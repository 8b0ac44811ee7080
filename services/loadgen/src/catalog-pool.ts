export interface KnownProduct {
  id: number;
  stock: number;
  category: string;
}

/**
 * What the load generator has learnt about the catalogue from the answers it got (product lists and
 * details), so orders and enrichments use real ids and plausible quantities without extra requests.
 */
export class CatalogPool {
  private readonly products = new Map<number, KnownProduct>();
  private totalProducts = 0;

  constructor(private readonly capacity = 1000) {}

  get size(): number {
    return this.products.size;
  }
  /** Pages of 20 the catalogue had at the last list answer (at least 1). */
  get pages(): number {
    return Math.max(1, Math.ceil(this.totalProducts / 20));
  }
  all(): KnownProduct[] {
    return [...this.products.values()];
  }
  categories(): string[] {
    return [...new Set(this.all().map((p) => p.category))];
  }
  inStock(minimum: number): KnownProduct[] {
    return this.all().filter((p) => p.stock >= minimum);
  }

  /** Learns from a catalog product, a product page, or ignores anything else. */
  learn(body: unknown): void {
    if (typeof body !== 'object' || body === null) return;
    const record = body as Record<string, unknown>;
    if (Array.isArray(record['items'])) {
      if (typeof record['total'] === 'number') this.totalProducts = record['total'];
      for (const item of record['items']) this.learnProduct(item);
      return;
    }
    this.learnProduct(body);
  }

  /** Our own estimate until the next answer about the product arrives. */
  reserve(id: number, quantity: number): void {
    const product = this.products.get(id);
    if (product) product.stock = Math.max(0, product.stock - quantity);
  }

  private learnProduct(value: unknown): void {
    if (typeof value !== 'object' || value === null) return;
    const { id, stock, category } = value as Record<string, unknown>;
    if (typeof id !== 'number' || typeof stock !== 'number' || typeof category !== 'string') return;
    if (!this.products.has(id) && this.products.size >= this.capacity) return;
    this.products.set(id, { id, stock, category });
  }
}
