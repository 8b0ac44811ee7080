import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ORDERS_STREAM, ORDER_CREATED_SUBJECT, encodeOrderCreated } from '@obsdemo/contracts';
import { closedComponents, SHUTDOWN_COMPLETE_EXIT_0, type ServiceProcess } from '@obsdemo/testenv';
import { connect, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import {
  buildServices,
  eventually,
  metricValue,
  request,
  sql,
  startCatalogProcess,
  startDataplane,
  startInvoicesProcess,
  type Dataplane,
} from './harness.js';

let dp: Dataplane;
let catalog: ServiceProcess;
let invoices: ServiceProcess;
let nc: NatsConnection;

beforeAll(async () => {
  buildServices('catalog', 'invoices');
  dp = await startDataplane();
  catalog = await startCatalogProcess(dp, 'catalog');
  // info level so the shutdown sequence can be read back from the log.
  invoices = await startInvoicesProcess(dp, 'invoices', { LOG_LEVEL: 'info' });
  nc = await connect({ servers: dp.nats.url });
});

afterAll(async () => {
  await nc?.close();
  await invoices?.stop();
  await catalog?.stop();
  await dp?.stop();
});

async function invoiceTotal(query = ''): Promise<number> {
  const res = await request(invoices.url, 'GET', `/invoices?pageSize=1${query}`);
  expect(res.status).toBe(200);
  return res.body['total'] as number;
}

/** Nothing left for the consumer: every message delivered and acknowledged (or terminated). */
async function consumerDrained(): Promise<boolean> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.info(ORDERS_STREAM, 'invoices');
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

function event(orderId: number) {
  return {
    schemaVersion: 1 as const,
    eventId: randomUUID(),
    orderId,
    occurredAt: new Date().toISOString(),
    customer: `customer-${orderId}`,
    items: [{ productId: 1, quantity: 2, unitPrice: 10.5 }],
    total: 21,
    currency: 'EUR',
  };
}

describe('invoices with real catalog, NATS and Postgres', () => {
  it('turns 1,000 orders into exactly 1,000 invoices while invoices is SIGKILLed and restarted twice', async () => {
    const created: number[] = [];
    let next = 0;
    const total = 1000;
    // Modest concurrency: the suite shares two cores with Postgres, NATS and three node processes.
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const res = await request(catalog.url, 'POST', '/orders', {
          customer: `zero-loss-${i}`,
          items: [{ productId: 1 + (i % 5), quantity: 1 }],
        });
        expect(res.status).toBe(201);
        created.push(res.body['id'] as number);
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, worker));
    const reached = (n: number) =>
      eventually(
        `${n} orders created`,
        async () => created.length,
        (c) => c >= n,
        120_000,
      );

    await reached(100);
    await invoices.kill();
    await reached(350);
    await invoices.start();
    await reached(600);
    // Killed while it is catching up: some messages are mid-transaction or committed but not yet acked.
    await invoices.kill();
    await reached(800);
    await invoices.start();
    await load;
    expect(new Set(created).size).toBe(total);

    await eventually(
      '1,000 invoices',
      () => invoiceTotal(),
      (n) => n >= total,
      180_000,
    );
    await eventually('consumer drained', consumerDrained, (d) => d, 60_000);
    const [counts] = await sql<{ n: string; orders: string }>(
      dp,
      'invoices',
      'SELECT count(*) AS n, count(DISTINCT order_id) AS orders FROM invoices',
    );
    expect(counts).toEqual({ n: String(total), orders: String(total) });
    const ids = await sql<{ order_id: number }>(
      dp,
      'invoices',
      'SELECT order_id FROM invoices ORDER BY order_id',
    );
    expect(ids.map((r) => r.order_id)).toEqual([...created].sort((a, b) => a - b));
    const lineless = await sql<{ n: string }>(
      dp,
      'invoices',
      'SELECT count(*) AS n FROM invoices i WHERE NOT EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id)',
    );
    expect(lineless[0]?.n).toBe('0');
    expect(await invoiceTotal()).toBe(total);
    expect((await request(invoices.url, 'GET', '/invoices/parked')).body['total']).toBe(0);
  });

  it('invoices an order once and exposes it by id and by order id', async () => {
    const order = await request(catalog.url, 'POST', '/orders', {
      customer: 'lookup',
      items: [
        { productId: 2, quantity: 3 },
        { productId: 3, quantity: 1 },
      ],
    });
    expect(order.status).toBe(201);
    const orderId = order.body['id'] as number;
    const byOrder = await eventually(
      'invoice for the order',
      () => request(invoices.url, 'GET', `/invoices/by-order/${orderId}`),
      (r) => r.status === 200,
    );
    const invoice = byOrder.body;
    expect(invoice['orderId']).toBe(orderId);
    expect(invoice['number']).toBe(`INV-${String(orderId).padStart(8, '0')}`);
    expect(invoice['subtotal']).toBe(order.body['total']);
    expect(invoice['tax']).toBeCloseTo((order.body['total'] as number) * 0.2, 2);
    expect(invoice['lines']).toHaveLength(2);
    const byId = await request(invoices.url, 'GET', `/invoices/${String(invoice['id'])}`);
    expect(byId.body).toEqual(invoice);
    const filtered = await request(invoices.url, 'GET', `/invoices?orderId=${orderId}`);
    expect(filtered.body['total']).toBe(1);
    expect((await request(invoices.url, 'GET', '/invoices/by-order/2147483647')).status).toBe(404);
  });

  it('gives one invoice for a duplicate publish, inside and after the dedupe window', async () => {
    const js = nc.jetstream();
    const orderId = 900_001;
    const duplicatesBefore = await metricValue(invoices.url, 'messaging_messages_consumed_total', {
      result: 'duplicate',
    });
    const payload = encodeOrderCreated(event(orderId));
    const first = await js.publish(ORDER_CREATED_SUBJECT, payload, { msgID: String(orderId) });
    const again = await js.publish(ORDER_CREATED_SUBJECT, payload, { msgID: String(orderId) });
    expect(again.duplicate).toBe(true);
    // A different Nats-Msg-Id is what a publish after the duplicate window looks like: JetStream stores it twice.
    const late = await js.publish(ORDER_CREATED_SUBJECT, payload, { msgID: `${orderId}-late` });
    expect(late.duplicate).toBe(false);
    expect(late.seq).toBeGreaterThan(first.seq);

    await eventually(
      'the late copy consumed as a duplicate',
      () => metricValue(invoices.url, 'messaging_messages_consumed_total', { result: 'duplicate' }),
      (n) => n === duplicatesBefore + 1,
    );
    await eventually('consumer drained', consumerDrained, (d) => d);
    expect(await invoiceTotal(`&orderId=${orderId}`)).toBe(1);
    const rows = await sql<{ n: string }>(
      dp,
      'invoices',
      `SELECT count(*) AS n FROM invoices WHERE order_id = ${orderId}`,
    );
    expect(rows[0]?.n).toBe('1');
  });

  it('parks poison messages where a person can see them, and counts them', async () => {
    const js = nc.jetstream();
    const parkedBefore = (await request(invoices.url, 'GET', '/invoices/parked')).body['total'] as number;
    const undecodableBefore = await metricValue(invoices.url, 'messaging_messages_parked_total', {
      reason: 'undecodable',
    });
    const invalidBefore = await metricValue(invoices.url, 'messaging_messages_parked_total', {
      reason: 'invalid',
    });
    await js.publish(ORDER_CREATED_SUBJECT, new TextEncoder().encode('this is not json'), {
      msgID: 'poison-1',
    });
    await js.publish(
      ORDER_CREATED_SUBJECT,
      new TextEncoder().encode(JSON.stringify({ schemaVersion: 1, orderId: -1 })),
      {
        msgID: 'poison-2',
      },
    );
    // Lines that do not add up to the total can never become a correct invoice.
    await js.publish(ORDER_CREATED_SUBJECT, encodeOrderCreated({ ...event(900_002), total: 99 }), {
      msgID: 'poison-3',
    });
    const parked = await eventually(
      'three parked messages',
      () => request(invoices.url, 'GET', '/invoices/parked?pageSize=10'),
      (r) => (r.body['total'] as number) >= parkedBefore + 3,
    );
    const items = (parked.body['items'] as { reason: string; payload: string; error: string }[]).slice(0, 3);
    expect(items.map((i) => i.reason).sort()).toEqual(['invalid', 'undecodable', 'undecodable']);
    expect(items.some((i) => i.payload === 'this is not json')).toBe(true);
    expect(
      await metricValue(invoices.url, 'messaging_messages_parked_total', { reason: 'undecodable' }),
    ).toBe(undecodableBefore + 2);
    expect(await metricValue(invoices.url, 'messaging_messages_parked_total', { reason: 'invalid' })).toBe(
      invalidBefore + 1,
    );
    await eventually('consumer drained', consumerDrained, (d) => d);
    expect(await invoiceTotal('&orderId=900002')).toBe(0);
  });

  it('answers bad input with 4xx JSON and serves its ops endpoints', async () => {
    for (const path of ['/invoices?page=0', '/invoices?orderId=abc', '/invoices?bogus=1', '/invoices/x1']) {
      const res = await request(invoices.url, 'GET', path);
      expect(res.status).toBe(400);
      expect(res.body['error']).toBe('validation_error');
    }
    expect((await request(invoices.url, 'GET', '/invoices/999999')).status).toBe(404);
    const ready = await request(invoices.url, 'GET', '/ready');
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { postgres: { status: 'ok' }, nats: { status: 'ok' } },
    });
    const info = await request(invoices.url, 'GET', '/info');
    expect(info.body['name']).toBe('invoices');
    expect(JSON.stringify(info.body)).not.toContain(dp.pg.password);
    const openapi = await request(invoices.url, 'GET', '/openapi.json');
    expect(Object.keys(openapi.body['paths'] as object)).toEqual(
      expect.arrayContaining([
        '/invoices',
        '/invoices/{id}',
        '/invoices/by-order/{orderId}',
        '/invoices/parked',
      ]),
    );
    const metrics = await (await fetch(`${invoices.url}/metrics`)).text();
    expect(metrics).toMatch(/messaging_consumer_lag\{[^}]*consumer="invoices"[^}]*\} 0/);
    expect(metrics).toContain('messaging_process_duration_seconds_bucket');
  });

  it('shuts down on SIGTERM: consumer, then pool, then exit 0', async () => {
    await invoices.stop();
    expect(invoices.running).toBe(false);
    const log = invoices.logs();
    expect(closedComponents(log).slice(-2)).toEqual(['orders-consumer', 'postgres-pool']);
    expect(log).toMatch(SHUTDOWN_COMPLETE_EXIT_0);
  });
});
