import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { HttpError } from '../../src/errors.js';
import { createLogger, createHttpMetrics, createRegistry } from '@obsdemo/telemetry';
import { serviceApp } from '../../src/service-app.js';
import { listen } from './http-fixture.js';

const registry = createRegistry('frame', { defaultMetrics: false });
let shuttingDown = false;
const app = serviceApp(
  {
    logger: createLogger({ service: 'frame', stream: new PassThrough() }),
    metrics: createHttpMetrics(registry),
    checks: [],
    info: () => ({ name: 'frame' }),
    openapi: { openapi: '3.1.0' },
    isShuttingDown: () => shuttingDown,
  },
  (routes) => {
    routes.get('/echo', (req, res) => {
      res.json({ query: req.query });
    });
    routes.get('/teapot', () => {
      throw new HttpError(418, 'teapot', 'short and stout');
    });
  },
);

let server: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  server = await listen(app);
});
afterAll(async () => {
  await server.close();
});

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
};

describe('serviceApp', () => {
  it('serves the ops endpoints and the OpenAPI document next to the mounted routes', async () => {
    expect((await get('/health')).body).toEqual({ status: 'ok' });
    expect((await get('/info')).body).toEqual({ name: 'frame' });
    expect((await get('/openapi.json')).body).toEqual({ openapi: '3.1.0' });
    expect((await get('/echo')).status).toBe(200);
    shuttingDown = true;
    expect((await get('/ready')).status).toBe(503);
    shuttingDown = false;
    expect((await get('/ready')).status).toBe(200);
  });

  it('parses queries flat: no nested objects, repeated keys become arrays', async () => {
    expect((await get('/echo?a[b]=c&x=1&x=2')).body).toEqual({ query: { 'a[b]': 'c', x: ['1', '2'] } });
  });

  it('answers unknown routes and thrown errors as JSON, without x-powered-by', async () => {
    const missing = await get('/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'not_found' });
    expect(missing.headers.get('x-powered-by')).toBeNull();
    const teapot = await get('/teapot');
    expect(teapot).toMatchObject({ status: 418, body: { error: 'teapot', message: 'short and stout' } });
  });

  it('counts requests by route template in the RED metrics', async () => {
    await get('/echo?a=1');
    expect(await registry.metrics()).toMatch(/http_requests_total\{[^}]*route="\/echo"[^}]*\} [1-9]/);
  });
});
