import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ORDERS_STREAM, ORDER_CREATED_SUBJECT, encodeOrderCreated } from '@obsdemo/contracts';
import type { ServiceProcess } from '@obsdemo/testenv';
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
  startInvoicesReplica,
  type Dataplane,
} from './harness.js';

/**
 * Two real invoices processes on one database, sharing the durable consumer as two replicas of one Deployment do,
 * behind a real catalog that publishes through its outbox. JetStream hands each message to one of the two pulls;
 * the unique order id in Postgres is what keeps a copy that reaches both (a duplicate publish) to one invoice.
 */

const DATABASE = 'invoices_replicas';
const ORDERS = 60;

let dp: Dataplane;
let catalog: ServiceProcess;
let replicas: ServiceProcess[];
let nc: NatsConnection;

beforeAll(async () => {
  buildServices('catalog', 'invoices');
  dp = await startDataplane();
  catalog = await startCatalogProcess(dp, 'catalog_replicas');
  // Batches of one: each pull takes a single message, so the two replicas take turns at the stream.
  const env = { CONSUMER_BATCH_SIZE: '1' };
  const first = await startInvoicesProcess(dp, DATABASE, env);
  replicas = [first, await startInvoicesReplica(dp, DATABASE, env)];
  nc = await connect({ servers: dp.nats.url });
});

afterAll(async () => {
  await nc?.close();
  for (const r of replicas ?? []) await r.stop();
  await catalog?.stop();
  await dp?.stop();
});

const consumed = async (result: string) =>
  Promise.all(
    replicas.map((r) =>
      metricValue(r.url, 'messaging_messages_consumed_total', { subject: ORDER_CREATED_SUBJECT, result }),
    ),
  );
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function drained(): Promise<boolean> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.info(ORDERS_STREAM, 'invoices');
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describe('two invoices replicas on one durable consumer', () => {
  it('write exactly one invoice per order placed in catalog, each message handled by one replica', async () => {
    const orders: { id: number; lines: number }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ORDERS) {
        const i = next++;
        const items = [{ productId: 1 + (i % 5), quantity: 1 + (i % 3) }];
        if (i % 2 === 0) items.push({ productId: 6 + (i % 3), quantity: 1 });
        const res = await request(catalog.url, 'POST', '/orders', { customer: `replicas-${i}`, items });
        expect(res.status).toBe(201);
        orders.push({ id: res.body['id'] as number, lines: items.length });
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));

    await eventually(
      `${ORDERS} invoices`,
      async () => (await sql<{ n: string }>(dp, DATABASE, 'SELECT count(*) AS n FROM invoices'))[0]?.n,
      (n) => Number(n) >= ORDERS,
      60_000,
    );
    await eventually('consumer drained', drained, (d) => d);

    const invoices = await sql<{ order_id: number; lines: string }>(
      dp,
      DATABASE,
      `SELECT i.order_id, count(l.id) AS lines FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
        GROUP BY i.order_id ORDER BY i.order_id`,
    );
    const expected = [...orders].sort((a, b) => a.id - b.id);
    expect(invoices.map((r) => [r.order_id, Number(r.lines)])).toEqual(expected.map((o) => [o.id, o.lines]));

    // JetStream gave every message to exactly one replica: one creation per order across both, and no copy that
    // the other replica then found already invoiced.
    const created = await consumed('created');
    expect(sum(created)).toBe(ORDERS);
    expect(sum(await consumed('duplicate'))).toBe(0);
    expect(sum(await consumed('retried'))).toBe(0);
    // Both pulled from the one durable: the load was shared, not served by one replica while the other idled.
    expect(created.every((n) => n > 0)).toBe(true);
    const jsm = await nc.jetstreamManager();
    const consumers = await jsm.consumers.list(ORDERS_STREAM).next();
    expect(consumers.map((c) => c.name)).toEqual(['invoices']);
  });

  it('keep one invoice per order when each event is published twice, under two message ids, to the shared consumer', async () => {
    const js = nc.jetstream();
    const before = { created: sum(await consumed('created')), duplicate: sum(await consumed('duplicate')) };
    // Order ids far above catalog's, so these events meet no invoice yet.
    const orderIds = Array.from({ length: 20 }, (_, i) => 900_000 + i);
    // Two copies under different Nats-Msg-Ids, which JetStream's dedupe window does not merge, published
    // back to back: with batches of one, the copies of an order are usually in the two replicas at once.
    for (const orderId of orderIds) {
      const event = encodeOrderCreated({
        schemaVersion: 1,
        eventId: randomUUID(),
        orderId,
        occurredAt: new Date().toISOString(),
        customer: `twice-${orderId}`,
        items: [
          { productId: 1, quantity: 2, unitPrice: 10.5 },
          { productId: 2, quantity: 1, unitPrice: 4 },
        ],
        total: 25,
        currency: 'EUR',
      });
      await Promise.all([
        js.publish(ORDER_CREATED_SUBJECT, event, { msgID: `${orderId}-first` }),
        js.publish(ORDER_CREATED_SUBJECT, event, { msgID: `${orderId}-second` }),
      ]);
    }

    await eventually(
      'every copy handled',
      async () => sum(await consumed('created')) + sum(await consumed('duplicate')),
      (n) => n >= before.created + before.duplicate + 2 * orderIds.length,
      60_000,
    );
    await eventually('consumer drained', drained, (d) => d);

    const rows = await sql<{ order_id: number; lines: string }>(
      dp,
      DATABASE,
      `SELECT i.order_id, count(l.id) AS lines FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
        WHERE i.order_id >= 900000 GROUP BY i.order_id ORDER BY i.order_id`,
    );
    expect(rows.map((r) => [r.order_id, Number(r.lines)])).toEqual(orderIds.map((id) => [id, 2]));
    expect(sum(await consumed('created')) - before.created).toBe(orderIds.length);
    expect(sum(await consumed('duplicate')) - before.duplicate).toBe(orderIds.length);
    expect(sum(await consumed('parked'))).toBe(0);
  });
});
