import { listKey, productKey } from '../cache/keys.js';
import type { ReadCache } from '../cache/read-cache.js';
import type { ProductService } from './products.js';

/** Product reads through the replica's read cache; writes pass through (they invalidate via `onChanged`). */
export function cachedProductService(products: ProductService, cache: ReadCache): ProductService {
  return {
    ...products,
    list: (query) => cache.getOrLoad(listKey(query), () => products.list(query)),
    get: (id) => cache.getOrLoad(productKey(id), () => products.get(id)),
  };
}
