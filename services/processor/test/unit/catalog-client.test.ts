import { describe, it, expect } from '@jest/globals';
import { HttpError } from '@obsdemo/service-kit';
import { CatalogClient } from '../../src/clients/catalog.js';
import {
  BadGatewayError,
  GatewayTimeoutError,
  fromFetchError,
  fromResponse,
  isRetryable,
} from '../../src/clients/upstream-errors.js';

const site = { upstream: 'catalog', method: 'GET', path: '/products/1' };
const product = { id: 1, sku: 'KB-100', name: 'Keyboard', category: 'peripherals', price: 89.99, stock: 5 };

function connectionRefused(): Error {
  return Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
}

describe('upstream error mapping', () => {
  it('maps a timeout to 504 and a network failure to 502, both retryable', () => {
    const timeout = fromFetchError(new DOMException('timed out', 'TimeoutError'), site, 250);
    expect(timeout).toBeInstanceOf(GatewayTimeoutError);
    expect({ status: timeout.status, code: timeout.code, details: timeout.details }).toEqual({
      status: 504,
      code: 'gateway_timeout',
      details: { upstream: 'catalog', timeoutMs: 250 },
    });
    const refused = fromFetchError(connectionRefused(), site, 250);
    expect(refused).toBeInstanceOf(BadGatewayError);
    expect(refused.status).toBe(502);
    expect(refused.details).toEqual({ upstream: 'catalog', cause: 'ECONNREFUSED' });
    expect(isRetryable(timeout) && isRetryable(refused)).toBe(true);
  });

  it('maps a 5xx answer to 502 and passes a 4xx through with the upstream code, not retryable', () => {
    const failed = fromResponse(503, { error: 'injected_fault', message: 'boom' }, site);
    expect({ status: failed.status, code: failed.code }).toEqual({ status: 502, code: 'bad_gateway' });
    expect(failed.details).toMatchObject({ status: 503, upstreamError: 'injected_fault' });
    const refused = fromResponse(
      422,
      { error: 'unknown_product', message: 'unknown product id(s): 9', details: { productIds: [9] } },
      site,
    );
    expect({ status: refused.status, code: refused.code, message: refused.message }).toEqual({
      status: 422,
      code: 'unknown_product',
      message: 'unknown product id(s): 9',
    });
    expect(refused.details).toEqual({ upstream: 'catalog', upstreamDetails: { productIds: [9] } });
    expect(isRetryable(refused)).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
  });
});

type FetchFn = typeof fetch;

function scripted(answers: (() => Response | Promise<Response>)[]) {
  const calls: { method: string; url: string }[] = [];
  const fetchFn: FetchFn = async (input, init) => {
    calls.push({ method: init?.method ?? 'GET', url: String(input) });
    const next = answers.shift();
    if (!next) throw new Error('no scripted answer left');
    return next();
  };
  return { calls, fetchFn };
}

const json = (status: number, body: unknown) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function client(fetchFn: FetchFn, retries = 2) {
  const sleeps: number[] = [];
  return {
    sleeps,
    catalog: new CatalogClient({
      baseUrl: 'http://catalog.test',
      timeoutMs: 1000,
      retries,
      retryBaseMs: 100,
      retryMaxMs: 1000,
      fetch: fetchFn,
      random: () => 1,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    }),
  };
}

describe('CatalogClient', () => {
  it('retries a GET through 5xx and connection failures with backoff, then returns the parsed body', async () => {
    const { calls, fetchFn } = scripted([
      json(503, { error: 'unavailable' }),
      () => Promise.reject(connectionRefused()),
      json(200, { ...product, extra: 'ignored' }),
    ]);
    const { catalog, sleeps } = client(fetchFn);
    await expect(catalog.getProduct(1)).resolves.toEqual(product);
    expect(calls.map((c) => c.url)).toEqual(Array(3).fill('http://catalog.test/products/1'));
    expect(sleeps).toEqual([100, 200]);
  });

  it('keeps a path prefix in the base URL (catalog behind a gateway)', async () => {
    const { calls, fetchFn } = scripted([json(200, product)]);
    const catalog = new CatalogClient({
      baseUrl: 'http://gateway.test/api/v1/catalog/',
      timeoutMs: 1000,
      retries: 0,
      retryBaseMs: 1,
      retryMaxMs: 1,
      fetch: fetchFn,
    });
    await catalog.getProduct(1);
    expect(calls[0]?.url).toBe('http://gateway.test/api/v1/catalog/products/1');
  });

  it('surfaces the last failure as 502 once retries are spent', async () => {
    const { calls, fetchFn } = scripted([json(500, {}), json(500, {}), json(500, {})]);
    await expect(client(fetchFn).catalog.getProduct(1)).rejects.toMatchObject({ status: 502 });
    expect(calls).toHaveLength(3);
  });

  it('never retries POST /orders', async () => {
    const { calls, fetchFn } = scripted([json(503, { error: 'unavailable' }), json(201, {})]);
    await expect(
      client(fetchFn).catalog.createOrder({ customer: 'a', items: [{ productId: 1, quantity: 1 }] }),
    ).rejects.toMatchObject({ status: 502 });
    expect(calls).toEqual([{ method: 'POST', url: 'http://catalog.test/orders' }]);
  });

  it('does not retry a 404 and passes it through', async () => {
    const { calls, fetchFn } = scripted([json(404, { error: 'not_found', message: 'product 9 not found' })]);
    const error = await client(fetchFn)
      .catalog.getProduct(9)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 404, code: 'not_found' });
    expect(calls).toHaveLength(1);
  });

  it('treats a 200 whose body does not match the contract as a bad gateway', async () => {
    const { fetchFn } = scripted([json(200, { id: 'one' }), () => new Response('<html>', { status: 200 })]);
    const { catalog } = client(fetchFn, 0);
    await expect(catalog.getProduct(1)).rejects.toMatchObject({ status: 502, code: 'bad_gateway' });
    await expect(catalog.getProduct(1)).rejects.toMatchObject({
      status: 502,
      details: { reason: 'not JSON' },
    });
  });

  it('times out a call that does not answer in time (504)', async () => {
    const hanging: FetchFn = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const catalog = new CatalogClient({
      baseUrl: 'http://catalog.test',
      timeoutMs: 20,
      retries: 0,
      retryBaseMs: 1,
      retryMaxMs: 1,
      fetch: hanging,
    });
    await expect(catalog.health()).rejects.toMatchObject({ status: 504, code: 'gateway_timeout' });
  });
});
