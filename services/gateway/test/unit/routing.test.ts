import { describe, it, expect } from '@jest/globals';
import { ROUTES, routeTemplate, upstreamPath, type RouteRule } from '../../src/routing.js';

const rule = (prefix: string): RouteRule => {
  const found = ROUTES.find((r) => r.prefix === prefix);
  if (!found) throw new Error(`no rule ${prefix}`);
  return found;
};

describe('routing table', () => {
  it.each([
    ['/api/v1/catalog', '/api/v1/catalog/products?page=2', 'catalog', '/products?page=2'],
    ['/api/v1/catalog', '/api/v1/catalog/products/7', 'catalog', '/products/7'],
    ['/api/v1/catalog', '/api/v1/catalog', 'catalog', '/'],
    ['/api/v1/catalog', '/api/v1/catalog?x=1', 'catalog', '/?x=1'],
    ['/api/v1/processor', '/api/v1/processor/jobs/abc', 'processor', '/api/v1/processor/jobs/abc'],
    ['/api/v1/analytics', '/api/v1/analytics/report', 'processor', '/api/v1/analytics/report'],
    ['/api/v1/invoices', '/api/v1/invoices', 'invoices', '/invoices'],
    ['/api/v1/invoices', '/api/v1/invoices/by-order/3?x=y', 'invoices', '/invoices/by-order/3?x=y'],
  ])('%s: %s → %s %s', (prefix, url, upstream, path) => {
    const r = rule(prefix);
    expect(r.upstream).toBe(upstream);
    expect(upstreamPath(r, url)).toBe(path);
  });

  it('matches prefixes only at a segment boundary', () => {
    expect(upstreamPath(rule('/api/v1/catalog'), '/api/v1/catalogue/products')).toBeUndefined();
    expect(upstreamPath(rule('/api/v1/invoices'), '/api/v1/invoicesX')).toBeUndefined();
  });

  it('keeps a protocol-relative looking rest as a path on the same upstream', () => {
    expect(upstreamPath(rule('/api/v1/catalog'), '/api/v1/catalog//evil.example/x')).toBe('//evil.example/x');
  });

  it('uses one Express template per rule, which is also the metric route label', () => {
    expect(ROUTES.map(routeTemplate)).toEqual([
      '/api/v1/catalog{/*path}',
      '/api/v1/processor{/*path}',
      '/api/v1/analytics{/*path}',
      '/api/v1/invoices{/*path}',
    ]);
  });
});
