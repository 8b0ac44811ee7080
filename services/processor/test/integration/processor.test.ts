import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createLogger } from '@obsdemo/telemetry';
import { parseConfig } from '@obsdemo/service-kit';
import { closedComponents, SHUTDOWN_COMPLETE_EXIT_0, type ServiceProcess } from '@obsdemo/testenv';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
// The invoices harness already runs every service as a process; the processor tests need the same three.
import {
  buildServices,
  eventually,
  request,
  startCatalogProcess,
  startDataplane,
  startInvoicesProcess,
  startProcessorProcess,
  type Dataplane,
} from '../../../invoices/test/integration/harness.js';
import { ProcessorConfigSchema } from '../../src/config.js';
import { buildProcessor, type Processor } from '../../src/wiring.js';

let dp: Dataplane;
let catalog: ServiceProcess;
let invoices: ServiceProcess;
let processor: ServiceProcess;

beforeAll(async () => {
  buildServices('catalog', 'invoices', 'processor');
  dp = await startDataplane();
  catalog = await startCatalogProcess(dp, 'catalog');
  invoices = await startInvoicesProcess(dp, 'invoices');
  // A short lease so a job orphaned by a SIGKILL is taken over within seconds.
  processor = await startProcessorProcess(dp, 'processor', catalog.url, {
    JOB_LEASE_MS: '1500',
    LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  await processor?.stop();
  await invoices?.stop();
  await catalog?.stop();
  await dp?.stop();
});

const api = (method: string, path: string, body?: unknown) => request(processor.url, method, path, body);

async function jobWhen(id: string, accept: (job: Record<string, unknown>) => boolean, timeoutMs = 30_000) {
  const res = await eventually(
    `job ${id}`,
    () => api('GET', `/api/v1/processor/jobs/${id}`),
    (r) => r.status === 200 && accept(r.body),
    timeoutMs,
  );
  return res.body;
}

describe('processor against a real catalog, invoices, Postgres and NATS', () => {
  it('runs the order workflow: the order is in catalog, its invoice in invoices, its notification job done', async () => {
    const res = await api('POST', '/api/v1/processor/orders/process', {
      customer: 'workflow',
      items: [
        { productId: 1, quantity: 2 },
        { productId: 4, quantity: 1 },
      ],
    });
    expect(res.status).toBe(201);
    const order = res.body['order'] as { orderId: number; total: number; lines: { name: string }[] };
    expect(res.body['steps']).toEqual(['create-order', 'fetch-products', 'enrich', 'schedule-notification']);
    expect(order.lines.every((l) => l.name !== 'unknown')).toBe(true);

    const inCatalog = await request(catalog.url, 'GET', `/orders/${order.orderId}`);
    expect(inCatalog.status).toBe(200);
    expect(inCatalog.body['customer']).toBe('workflow');
    expect(inCatalog.body['total']).toBe(order.total);

    const invoice = await eventually(
      'invoice for the workflow order',
      () => request(invoices.url, 'GET', `/invoices/by-order/${order.orderId}`),
      (r) => r.status === 200,
    );
    expect(invoice.body['subtotal']).toBe(order.total);

    const job = await jobWhen(res.body['notificationJobId'] as string, (j) => j['status'] === 'succeeded');
    expect(job).toMatchObject({ type: 'orders.notify', attempts: 1, result: { orderId: order.orderId } });
  });

  it('serves analytics, parallel enrichment and batch jobs from catalog data', async () => {
    const catalogProducts = await request(catalog.url, 'GET', '/products?pageSize=1');
    const products = await api('GET', '/api/v1/analytics/products');
    expect(products.status).toBe(200);
    expect(products.body['products']).toBe(catalogProducts.body['total']);

    const orders = await api('GET', '/api/v1/analytics/orders?limit=50');
    expect(orders.status).toBe(200);
    expect(orders.body['orders']).toBeGreaterThanOrEqual(1);

    const report = await api('GET', '/api/v1/analytics/report');
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      catalog: { status: 'ok' },
      products: { products: products.body['products'] },
    });

    const enriched = await api('POST', '/api/v1/processor/products/enrich', {
      productIds: [1, 2, 3, 424242],
    });
    expect(enriched.status).toBe(200);
    expect((enriched.body['items'] as { id: number }[]).map((p) => p.id)).toEqual([1, 2, 3]);
    expect(enriched.body['missing']).toEqual([424242]);

    const accepted = await api('POST', '/api/v1/analytics/process-batch', { productIds: [1, 2, 424242] });
    expect(accepted.status).toBe(202);
    const done = await jobWhen(accepted.body['jobId'] as string, (j) => j['status'] === 'succeeded');
    expect(done['result']).toMatchObject({ summary: { products: 2 }, missing: [424242] });

    const list = await api('GET', '/api/v1/processor/jobs?pageSize=1&type=analytics.process-batch');
    expect(list.body).toMatchObject({ page: 1, pageSize: 1 });
    expect((list.body['items'] as unknown[]).length).toBe(1);
  });

  it('answers bad input with 4xx JSON, including input catalog refuses', async () => {
    const cases: [string, string, unknown, number][] = [
      ['POST', '/api/v1/processor/orders/process', { customer: '', items: [] }, 400],
      ['POST', '/api/v1/processor/orders/process', '{"customer":', 400],
      ['POST', '/api/v1/processor/products/enrich', { productIds: [1, 1] }, 400],
      ['POST', '/api/v1/analytics/process-batch', { productIds: [1], simulateWorkMs: -1 }, 400],
      ['GET', '/api/v1/analytics/orders?limit=0', undefined, 400],
      ['GET', '/api/v1/processor/jobs?status=sleeping', undefined, 400],
      ['GET', '/api/v1/processor/jobs/not-a-uuid', undefined, 400],
      ['GET', '/api/v1/processor/jobs/00000000-0000-4000-8000-000000000000', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await api(method, path, body);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(typeof res.body['error']).toBe('string');
      expect(typeof res.body['message']).toBe('string');
    }
    const unknown = await api('POST', '/api/v1/processor/orders/process', {
      customer: 'x',
      items: [{ productId: 424242, quantity: 1 }],
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body['error']).toBe('unknown_product');
  });

  it('finishes a job accepted before a SIGKILL after the restart', async () => {
    const accepted = await api('POST', '/api/v1/analytics/process-batch', {
      productIds: [1, 2, 3],
      simulateWorkMs: 4000,
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body['jobId'] as string;
    await jobWhen(id, (j) => j['status'] === 'running');
    await processor.kill();
    await processor.start();
    const done = await jobWhen(id, (j) => j['status'] === 'succeeded', 60_000);
    expect(done['attempts']).toBe(2);
    expect(done['result']).toMatchObject({ summary: { products: 3 } });
  });

  it('answers 502 while catalog is down, stays ready, and recovers when catalog returns', async () => {
    await catalog.kill();
    try {
      for (const [method, path, body] of [
        ['GET', '/api/v1/analytics/products', undefined],
        ['GET', '/api/v1/analytics/report', undefined],
        ['POST', '/api/v1/processor/products/enrich', { productIds: [1] }],
        [
          'POST',
          '/api/v1/processor/orders/process',
          { customer: 'down', items: [{ productId: 1, quantity: 1 }] },
        ],
      ] as const) {
        const res = await api(method, path, body);
        expect({ path, status: res.status }).toEqual({ path, status: 502 });
        expect(res.body).toMatchObject({ error: 'bad_gateway', details: { upstream: 'catalog' } });
      }
      expect((await api('GET', '/ready')).status).toBe(200);
      expect((await api('GET', '/api/v1/processor/jobs')).status).toBe(200);
    } finally {
      await catalog.start();
    }
    const back = await api('GET', '/api/v1/analytics/products');
    expect(back.status).toBe(200);
  });

  it('shuts down on SIGTERM: worker, then pool, then exit 0', async () => {
    await processor.stop();
    expect(processor.running).toBe(false);
    const log = processor.logs();
    expect(closedComponents(log).slice(-2)).toEqual(['job-worker', 'postgres-pool']);
    expect(log).toMatch(SHUTDOWN_COMPLETE_EXIT_0);
  });
});

describe('processor against a catalog that never answers', () => {
  let blackhole: Server;
  /** Requests that reached the dependency, which reads them and never answers. */
  const received: string[] = [];
  let inProcess: Processor;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    blackhole = createServer((req) => {
      received.push(`${req.method} ${req.url}`);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const { port } = blackhole.address() as AddressInfo;
    await dp.pg.createDatabase('processor_blackhole');
    const config = parseConfig(ProcessorConfigSchema, {
      DB_HOST: dp.pg.host,
      DB_PORT: String(dp.pg.port),
      DB_NAME: 'processor_blackhole',
      DB_USER: dp.pg.user,
      DB_PASSWORD: dp.pg.password,
      CATALOG_URL: `http://127.0.0.1:${port}`,
      CATALOG_TIMEOUT_MS: '300',
      CATALOG_RETRIES: '1',
      CATALOG_RETRY_BASE_MS: '10',
    });
    inProcess = await buildProcessor(config, {
      version: 'test',
      logger: createLogger({ service: 'processor', stream: new PassThrough(), level: 'error' }),
    });
    server = await new Promise<Server>((resolve) => {
      const s = inProcess.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await inProcess?.db.close();
    blackhole?.closeAllConnections();
    await new Promise((resolve) => blackhole?.close(resolve));
  });

  it('answers 504 with a JSON error after the per-call timeout and its retry', async () => {
    const res = await request(base, 'GET', '/api/v1/analytics/products');
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({
      error: 'gateway_timeout',
      details: { upstream: 'catalog', timeoutMs: 300 },
    });
    // One retry for the idempotent GET.
    expect(received).toEqual(['GET /products?page=1&pageSize=100', 'GET /products?page=1&pageSize=100']);
    const post = await request(base, 'POST', '/api/v1/processor/orders/process', {
      customer: 'slow',
      items: [{ productId: 1, quantity: 1 }],
    });
    expect(post.status).toBe(504);
    // POST /orders is never retried.
    expect(received.slice(2)).toEqual(['POST /orders']);
  });
});
