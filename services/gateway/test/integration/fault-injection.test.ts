import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { buildServices, type ServiceProcess } from '@obsdemo/testenv';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, startGateway } from './harness.js';

// A plain HTTP upstream is enough here: what matters is whether the gateway forwards at all.
let upstream: Server;
const seen: string[] = [];
let faulty: ServiceProcess;
let healthy: ServiceProcess;

beforeAll(async () => {
  buildServices('gateway');
  upstream = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ upstream: 'catalog', path: req.url }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const catalogUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  faulty = await startGateway({ CATALOG_URL: catalogUrl, FAULT_ERROR_PERCENT: '100' });
  healthy = await startGateway({ CATALOG_URL: catalogUrl, FAULT_ERROR_PERCENT: '0' });
});

afterAll(async () => {
  await faulty?.stop();
  await healthy?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe('fault injection (FAULT_*)', () => {
  it('at FAULT_ERROR_PERCENT=100 answers 503 injected_fault itself, never reaching the upstream', async () => {
    const res = await call(`${faulty.url}/api/v1/catalog/products`);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 503,
      body: { error: 'injected_fault', message: 'injected failure (FAULT_ERROR_PERCENT)' },
    });
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(seen).toEqual([]);
    expect((await call(`${faulty.url}/health`)).status).toBe(200);
    expect((await call(`${faulty.url}/ready`)).status).toBe(200);
    expect((await call(`${faulty.url}/info`)).body['config']).toMatchObject({ FAULT_ERROR_PERCENT: 100 });
  });

  it('at 0 percent proxies as usual', async () => {
    const res = await call(`${healthy.url}/api/v1/catalog/products`);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { upstream: 'catalog', path: '/products' },
    });
    expect(seen).toEqual(['/products']);
    expect((await call(`${healthy.url}/ready`)).status).toBe(200);
  });
});
