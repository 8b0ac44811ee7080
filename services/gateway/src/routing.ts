export const UPSTREAMS = ['catalog', 'processor', 'invoices'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];

export interface RouteRule {
  /** Public path prefix on the gateway. */
  prefix: string;
  upstream: UpstreamName;
  /** Replaces `prefix` in the forwarded path; the rest of the path and the query string are kept. */
  upstreamPrefix: string;
}

/**
 * The routing table. catalog serves its API at the root, so its prefix is stripped; processor already serves
 * under /api/v1/processor and /api/v1/analytics, so those paths pass through unchanged.
 */
export const ROUTES: readonly RouteRule[] = [
  { prefix: '/api/v1/catalog', upstream: 'catalog', upstreamPrefix: '' },
  { prefix: '/api/v1/processor', upstream: 'processor', upstreamPrefix: '/api/v1/processor' },
  { prefix: '/api/v1/analytics', upstream: 'processor', upstreamPrefix: '/api/v1/analytics' },
  { prefix: '/api/v1/invoices', upstream: 'invoices', upstreamPrefix: '/invoices' },
];

/** Express 5 path for a rule: the prefix itself and everything below it; also the `route` metric label. */
export function routeTemplate(rule: RouteRule): string {
  return `${rule.prefix}{/*path}`;
}

/**
 * The upstream path for a request URL (path + query) that matched `rule`. Returns undefined when the URL is
 * not under the prefix at a segment boundary (`/api/v1/catalogue` is not `/api/v1/catalog`).
 */
export function upstreamPath(rule: RouteRule, url: string): string | undefined {
  if (!url.startsWith(rule.prefix)) return undefined;
  const rest = url.slice(rule.prefix.length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return undefined;
  const path = `${rule.upstreamPrefix}${rest}`;
  if (path === '') return '/';
  return path.startsWith('?') ? `/${path}` : path;
}
