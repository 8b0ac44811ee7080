import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { buildServices, startServiceProcess, type ServiceProcess } from '@obsdemo/testenv';
import {
  call,
  counter,
  eventually,
  startBackend,
  startGateway,
  startProcessor,
  type Answer,
  type Backend,
} from './harness.js';

/**
 * Two real gateway processes in front of the same real catalog, processor and invoices, as two gateway replicas
 * behind one Service. Each routes on its own; the rate-limit budget and the circuit breakers live in each process's
 * memory, so one replica's state never shows on the other (services/gateway/README.md, "Replicas").
 */

let backend: Backend;
let processor: ServiceProcess;
let invoices: ServiceProcess;
let one: ServiceProcess;
let two: ServiceProcess;

beforeAll(async () => {
  buildServices('catalog', 'processor', 'invoices', 'gateway');
  backend = await startBackend('gateway_replicas');
  processor = await startProcessor(backend, 'gateway_replicas_processor');
  await backend.pg.createDatabase('gateway_replicas_invoices');
  invoices = await startServiceProcess({
    service: 'invoices',
    portEnv: 'INVOICES_PORT',
    nodeArgs: ['--import', '@obsdemo/telemetry/register'],
    env: {
      INVOICES_HOST: '127.0.0.1',
      DB_HOST: backend.pg.host,
      DB_PORT: String(backend.pg.port),
      DB_NAME: 'gateway_replicas_invoices',
      DB_USER: backend.pg.user,
      DB_PASSWORD: backend.pg.password,
      NATS_URL: backend.nats.url,
      OTEL_SERVICE_NAME: 'invoices',
    },
  });
  // The same configuration for both, as one Deployment gives its pods: a small budget and a quick breaker.
  const env = {
    CATALOG_URL: backend.catalog.url,
    PROCESSOR_URL: processor.url,
    INVOICES_URL: invoices.url,
    RATE_LIMIT_RPS: '5',
    RATE_LIMIT_BURST: '0',
    BREAKER_VOLUME_THRESHOLD: '4',
    BREAKER_ERROR_THRESHOLD_PERCENT: '50',
    BREAKER_RESET_TIMEOUT_MS: '1000',
  };
  one = await startGateway(env);
  two = await startGateway(env);
});

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  await invoices?.stop();
  await processor?.stop();
  await backend?.stop();
});

/** Calls `path` on `gw`, waiting out a 429 (the small budget is per second), so routing is what is tested. */
async function routed(gw: ServiceProcess, path: string, init: RequestInit = {}): Promise<Answer> {
  return eventually(
    `${path} through ${gw.url} within its rate limit`,
    () => call(`${gw.url}${path}`, init),
    (a) => a.status !== 429,
  );
}

describe('two gateway replicas', () => {
  it('each route every prefix to the shared upstreams, and see what the other wrote', async () => {
    for (const gw of [one, two]) {
      expect(await routed(gw, '/api/v1/catalog/products/1')).toMatchObject({ status: 200, body: { id: 1 } });
      expect(await routed(gw, '/api/v1/processor/jobs')).toMatchObject({ status: 200 });
      expect(await routed(gw, '/api/v1/analytics/products')).toMatchObject({ status: 200 });
      expect(await routed(gw, '/api/v1/invoices')).toMatchObject({ status: 200 });
    }
    const created = await routed(one, '/api/v1/catalog/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'replicas', items: [{ productId: 3, quantity: 1 }] }),
    });
    expect(created.status).toBe(201);
    const id = created.body['id'] as number;
    expect(await routed(two, `/api/v1/catalog/orders/${id}`)).toMatchObject({
      status: 200,
      body: { id, customer: 'replicas' },
    });
    // The order reaches invoices through the outbox and NATS; either replica reads the invoice.
    const invoice = await eventually(
      'the invoice of the order through gateway two',
      () => call(`${two.url}/api/v1/invoices/by-order/${id}`),
      (a) => a.status === 200,
    );
    expect(invoice.body['orderId']).toBe(id);
  });

  it('keep their own rate-limit budget: one replica at its limit does not limit the other', async () => {
    const limitedBefore = await counter(two.url, 'gateway_rate_limited_total', {});
    const answers: Answer[] = [];
    for (let i = 0; i < 200 && !answers.some((a) => a.status === 429); i++) {
      answers.push(await call(`${one.url}/api/v1/catalog/products?pageSize=1`));
    }
    expect(answers.at(-1)?.status).toBe(429);
    // The same client, at once, through the other replica: its budget for this client is untouched.
    const other = await call(`${two.url}/api/v1/catalog/products?pageSize=1`);
    expect(other.status).toBe(200);
    expect(Number(other.headers.get('ratelimit-remaining'))).toBeGreaterThan(0);
    expect(await counter(two.url, 'gateway_rate_limited_total', {})).toBe(limitedBefore);
  });

  it('keep their own circuit breakers: one replica opens its catalog breaker while the other still tries', async () => {
    const state = (gw: ServiceProcess) => counter(gw.url, 'gateway_circuit_state', { upstream: 'catalog' });
    await backend.catalog.stop();
    try {
      await eventually(
        "gateway one's catalog breaker opens",
        async () => (await routed(one, '/api/v1/catalog/products/1')).body['error'],
        (error) => error === 'circuit_open',
      );
      expect(await state(one)).toBe(2);
      // Gateway two has seen no failure: its breaker is closed, and it still tries catalog (502, not 503).
      expect(await state(two)).toBe(0);
      expect(await routed(two, '/api/v1/catalog/products/1')).toMatchObject({
        status: 502,
        body: { error: 'upstream_unreachable' },
      });
      expect(await state(two)).toBe(0);
    } finally {
      await backend.catalog.start();
    }
    // Two serves at once; one closes after its half-open probe.
    expect((await routed(two, '/api/v1/catalog/products/1')).status).toBe(200);
    await eventually(
      "gateway one's catalog breaker closes",
      async () => (await routed(one, '/api/v1/catalog/products/1')).status,
      (status) => status === 200,
    );
    expect(await state(one)).toBe(0);
  });
});
