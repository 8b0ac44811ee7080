/**
 * Cache keys. A key is built only from a validated, defaulted request, so `?page=1` and no page at all share one
 * entry, while anything that changes the answer (id, page, page size, category) is part of the key.
 */

const PRODUCT_PREFIX = 'product:';
const LIST_PREFIX = 'list:';

export interface ListKeyQuery {
  page: number;
  pageSize: number;
  category?: string | undefined;
}

export function productKey(id: number): string {
  return `${PRODUCT_PREFIX}${id}`;
}

/** JSON keeps a category containing the separator from colliding with another page. */
export function listKey(query: ListKeyQuery): string {
  return `${LIST_PREFIX}${JSON.stringify([query.page, query.pageSize, query.category ?? null])}`;
}

export function isListKey(key: string): boolean {
  return key.startsWith(LIST_PREFIX);
}
