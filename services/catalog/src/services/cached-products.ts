import { listKey, productKey } from '../cache/keys.js';
import type { ReadCache } from '../cache/read-cache.js';
import type { ProductService } from './products.js';

/**
 * Product reads through the replica's read cache; writes pass through (they invalidate via `onChanged`). A list
 * page is cached as its skeleton and filled from the product entries (ReadCache.getPage).
 */
export function cachedProductService(products: ProductService, cache: ReadCache): ProductService {
  return {
    ...products,
    list: (query) =>
      cache.getPage(listKey(query), {
        page: () => products.list(query),
        many: (ids) => products.getMany(ids),
        // The same test as the list query's WHERE, so a product moved since the skeleton was stored is noticed.
        fits: (product) => query.category === undefined || product.category === query.category,
      }),
    get: (id) => cache.getOrLoad(productKey(id), () => products.get(id)),
  };
}
