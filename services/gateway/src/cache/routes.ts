import { match } from 'path-to-regexp';

/** Whether a request path is on the cache allow-list. */
export type RouteAllowList = (path: string) => boolean;

/**
 * Compiles allow-list entries written like the gateway's own routes: public gateway paths in Express 5 syntax
 * (`/api/v1/catalog/products/:id`, `/api/v1/invoices/*path`), matched like Express matches them (case-insensitive,
 * optional trailing slash). Throws with a readable message for an entry that is not a valid pattern or lies
 * outside every gateway prefix.
 */
export function compileRouteAllowList(
  patterns: readonly string[],
  prefixes: readonly string[],
): RouteAllowList {
  const matchers = patterns.map((pattern) => {
    const lower = pattern.toLowerCase();
    if (!prefixes.some((prefix) => lower === prefix || lower.startsWith(`${prefix}/`))) {
      throw new Error(`"${pattern}" is not under a gateway route (${prefixes.join(', ')})`);
    }
    try {
      // Parameters are not decoded: a malformed %-escape in a request path must not throw here.
      return match(pattern, { decode: false });
    } catch (error) {
      throw new Error(`"${pattern}" is not a valid route pattern: ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
  return (path) => matchers.some((m) => m(path) !== false);
}
