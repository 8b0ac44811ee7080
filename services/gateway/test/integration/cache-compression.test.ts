import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { buildServices, type ServiceProcess } from '@obsdemo/testenv';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { call, counter, eventually, startBackend, startGateway, type Backend } from './harness.js';

/**
 * A second upstream (in place of invoices) whose Cache-Control each test chooses with `?cc=`; it counts the
 * requests that reach it and echoes the Authorization it saw, so a response served to the wrong caller shows.
 */
interface Fixture {
  url: string;
  server: Server;
  /** Requests received per path + query. */
  seen: Map<string, number>;
}

async function startFixture(): Promise<Fixture> {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const n = (seen.get(url) ?? 0) + 1;
    seen.set(url, n);
    const cc = new URL(url, 'http://x').searchParams.get('cc');
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(cc === null ? {} : { 'cache-control': cc }),
    });
    res.end(JSON.stringify({ n, auth: req.headers.authorization ?? null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** node:http rather than fetch: fetch asks for gzip/br on its own and decodes bodies out of sight. */
function raw(url: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let backend: Backend;
let fixture: Fixture;
let gw: ServiceProcess;
const gateways: ServiceProcess[] = [];

beforeAll(async () => {
  buildServices('catalog', 'gateway');
  fixture = await startFixture();
  backend = await startBackend('gateway_cache_it');
  gw = await startGateway({
    CATALOG_URL: backend.catalog.url,
    INVOICES_URL: fixture.url,
    RATE_LIMIT_RPS: '10000',
    GATEWAY_CACHE_ENABLED: 'true',
    GATEWAY_CACHE_ROUTES:
      '/api/v1/catalog/products,/api/v1/catalog/products/:id,/api/v1/invoices/cached/*rest',
    GATEWAY_CACHE_DEFAULT_TTL_SECONDS: '60',
  });
  gateways.push(gw);
});

afterAll(async () => {
  for (const g of gateways) await g.stop();
  await backend?.stop();
  await new Promise((resolve) => fixture?.server.close(resolve));
});

const catalogCalls = () => counter(gw.url, 'gateway_upstream_requests_total', { upstream: 'catalog' });
const cacheCount = (result: string) =>
  counter(gw.url, 'cache_requests_total', { cache: 'gateway_responses', result });

describe('gateway response cache', () => {
  it('answers a repeated GET from the cache: X-Cache miss then hit, same body, an Age, no upstream call', async () => {
    const url = `${gw.url}/api/v1/catalog/products/2`;
    const hitsBefore = await cacheCount('hit');
    const first = await call(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    const upstreamBefore = await catalogCalls();
    const second = await call(url, { headers: { 'x-request-id': 'cache-hit-1' } });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('age')).toMatch(/^\d+$/);
    // The request id is this request's own, not the one stored with the first answer.
    expect(second.headers.get('x-request-id')).toBe('cache-hit-1');
    expect(await catalogCalls()).toBe(upstreamBefore);
    expect(await cacheCount('hit')).toBe(hitsBefore + 1);
  });

  it('goes to the upstream for a request with Cache-Control: no-cache, and keeps HEAD apart from GET', async () => {
    const url = `${gw.url}/api/v1/catalog/products/3`;
    await call(url);
    const before = await catalogCalls();
    const fresh = await call(url, { headers: { 'cache-control': 'no-cache' } });
    expect(fresh.headers.get('x-cache')).toBe('miss');
    expect(await catalogCalls()).toBe(before + 1);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('x-cache')).toBe('miss');
    const headHit = await fetch(url, { method: 'HEAD' });
    expect(headHit.headers.get('x-cache')).toBe('hit');
    expect(headHit.headers.get('content-length')).toBe(head.headers.get('content-length'));
    expect(Number(headHit.headers.get('content-length'))).toBeGreaterThan(0);
  });

  it('does not store an answer the upstream marks no-store, private or no-cache', async () => {
    for (const cc of ['no-store', 'private, max-age=60', 'no-cache']) {
      const path = `/cached/a?cc=${encodeURIComponent(cc)}`;
      const first = await call(`${gw.url}/api/v1/invoices${path}`);
      const second = await call(`${gw.url}/api/v1/invoices${path}`);
      expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['miss', 'miss']);
      expect(second.body['n']).toBe(2);
      expect(fixture.seen.get(`/invoices${path}`)).toBe(2);
    }
  });

  it('never serves an answer stored for one Authorization header to another caller', async () => {
    const url = `${gw.url}/api/v1/invoices/cached/private-data?cc=max-age%3D60`;
    const as = (auth?: string) => call(url, auth === undefined ? {} : { headers: { authorization: auth } });
    const alice = await as('Bearer alice');
    const aliceAgain = await as('Bearer alice');
    const bob = await as('Bearer bob');
    const anonymous = await as();
    expect(alice.body).toEqual({ n: 1, auth: 'Bearer alice' });
    expect(aliceAgain.headers.get('x-cache')).toBe('hit');
    expect(aliceAgain.body).toEqual(alice.body);
    expect(bob.headers.get('x-cache')).toBe('miss');
    expect(bob.body).toEqual({ n: 2, auth: 'Bearer bob' });
    expect(anonymous.headers.get('x-cache')).toBe('miss');
    expect(anonymous.body).toEqual({ n: 3, auth: null });
  });

  it('never caches a route that is not on the allow-list, whatever the upstream allows', async () => {
    const path = '/other/x?cc=public%2C%20max-age%3D600';
    const answers = [
      await call(`${gw.url}/api/v1/invoices${path}`),
      await call(`${gw.url}/api/v1/invoices${path}`),
    ];
    expect(answers.map((a) => a.headers.get('x-cache'))).toEqual([null, null]);
    expect(answers.map((a) => a.body['n'])).toEqual([1, 2]);
  });

  it('stops serving an entry once the max-age it came with has passed', async () => {
    const url = `${gw.url}/api/v1/invoices/cached/short?cc=max-age%3D1`;
    expect((await call(url)).headers.get('x-cache')).toBe('miss');
    expect((await call(url)).headers.get('x-cache')).toBe('hit');
    const later = await eventually(
      'the entry expires',
      () => call(url),
      (a) => a.headers.get('x-cache') === 'miss',
    );
    expect(later.body['n']).toBe(2);
    expect(
      await counter(gw.url, 'cache_evictions_total', { cache: 'gateway_responses', reason: 'ttl' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('reports its size as cache_entries', async () => {
    expect(await counter(gw.url, 'cache_entries', { cache: 'gateway_responses' })).toBeGreaterThan(0);
  });
});

describe('gateway response compression', () => {
  // A list page of 20 products is several KiB; one product is well below the 1 KiB threshold.
  const LIST = '/api/v1/catalog/products?pageSize=20';
  const ONE = '/api/v1/catalog/products/1';

  it('sends identity bodies to clients that do not send Accept-Encoding', async () => {
    const plain = await raw(`${gw.url}${LIST}`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(1024);
    expect(JSON.parse(plain.body.toString())).toHaveProperty('items');
  });

  it('gzip and br bodies decode to the same JSON as the identity body', async () => {
    const plain = JSON.parse((await raw(`${gw.url}${LIST}`)).body.toString()) as unknown;
    const gzip = await raw(`${gw.url}${LIST}`, { 'accept-encoding': 'gzip' });
    const br = await raw(`${gw.url}${LIST}`, { 'accept-encoding': 'br' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(br.headers['content-encoding']).toBe('br');
    expect(gzip.headers['vary']).toMatch(/accept-encoding/i);
    expect(JSON.parse(gunzipSync(gzip.body).toString())).toEqual(plain);
    expect(JSON.parse(brotliDecompressSync(br.body).toString())).toEqual(plain);
    expect(gzip.body.length).toBeLessThan(Buffer.byteLength(JSON.stringify(plain)));
  });

  it('prefers br when a client accepts both, and honours q-values', async () => {
    const both = await raw(`${gw.url}${LIST}`, { 'accept-encoding': 'gzip, br' });
    expect(both.headers['content-encoding']).toBe('br');
    const gzipPreferred = await raw(`${gw.url}${LIST}`, { 'accept-encoding': 'br;q=0.1, gzip' });
    expect(gzipPreferred.headers['content-encoding']).toBe('gzip');
  });

  it('does not compress bodies below the threshold', async () => {
    const small = await raw(`${gw.url}${ONE}`, { 'accept-encoding': 'gzip, br' });
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString())).toHaveProperty('id', 1);
  });

  it('compresses answers served from the cache as well', async () => {
    await raw(`${gw.url}${LIST}`);
    const hit = await raw(`${gw.url}${LIST}`, { 'accept-encoding': 'gzip' });
    expect(hit.headers['x-cache']).toBe('hit');
    expect(hit.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(hit.body).toString())).toHaveProperty('items');
  });

  it('sends everything uncompressed when compression is off', async () => {
    const off = await startGateway({
      CATALOG_URL: backend.catalog.url,
      GATEWAY_COMPRESSION_ENABLED: 'false',
    });
    gateways.push(off);
    const answer = await raw(`${off.url}${LIST}`, { 'accept-encoding': 'gzip, br' });
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.headers['x-cache']).toBeUndefined();
    expect(JSON.parse(answer.body.toString())).toHaveProperty('items');
  });
});
