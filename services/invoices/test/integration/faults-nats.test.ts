// NATS restarted (same port, same JetStream store) in the middle of a burst of orders through catalog, with invoices
// consuming, all real processes: every accepted order gets exactly one invoice, nothing is parked, and catalog keeps
// accepting orders while NATS is down (its transactional outbox holds the events until NATS is back).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ORDERS_STREAM } from '@obsdemo/contracts';
import type { ServiceProcess } from '@obsdemo/testenv';
import { connect } from 'nats';
import {
  buildServices,
  eventually,
  request,
  sql,
  startCatalogProcess,
  startDataplane,
  startInvoicesProcess,
  type Dataplane,
} from './harness.js';

const TOTAL = 600;

let dp: Dataplane;
let catalog: ServiceProcess;
let invoices: ServiceProcess;

beforeAll(async () => {
  buildServices('catalog', 'invoices');
  dp = await startDataplane();
  catalog = await startCatalogProcess(dp, 'catalog');
  invoices = await startInvoicesProcess(dp, 'invoices');
}, 180_000);

afterAll(async () => {
  await invoices?.stop();
  await catalog?.stop();
  await dp?.stop();
});

async function streamState(): Promise<{ messages: number; pending: number; ackPending: number }> {
  const nc = await connect({ servers: dp.nats.url });
  try {
    const jsm = await nc.jetstreamManager();
    const stream = await jsm.streams.info(ORDERS_STREAM);
    const consumer = await jsm.consumers.info(ORDERS_STREAM, 'invoices');
    return {
      messages: stream.state.messages,
      pending: consumer.num_pending,
      ackPending: consumer.num_ack_pending,
    };
  } finally {
    await nc.close();
  }
}

describe('NATS restarted during a burst of orders', () => {
  it('gives every accepted order exactly one invoice, and keeps accepting orders while NATS is down', async () => {
    const accepted: number[] = [];
    const acceptedWhileDown: number[] = [];
    const rejected: { status: number; body: Record<string, unknown> }[] = [];
    let natsDown = false;
    let next = 0;
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        const sentWhileDown = natsDown;
        const res = await request(catalog.url, 'POST', '/orders', {
          customer: `burst-${i}`,
          items: [{ productId: 1 + (i % 5), quantity: 1 + (i % 3) }],
        });
        if (res.status !== 201) {
          rejected.push(res);
          continue;
        }
        accepted.push(res.body['id'] as number);
        if (sentWhileDown && natsDown) acceptedWhileDown.push(res.body['id'] as number);
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    const reached = (n: number) =>
      eventually(
        `${n} orders answered`,
        async () => accepted.length + rejected.length,
        (c) => c >= n,
        120_000,
      );

    await reached(150);
    await dp.nats.stop();
    natsDown = true;
    await reached(300);
    // Catalog's readiness deliberately ignores NATS; invoices cannot work without it and says so.
    expect((await request(catalog.url, 'GET', '/ready')).status).toBe(200);
    await eventually(
      'invoices not ready without NATS',
      () => request(invoices.url, 'GET', '/ready'),
      (r) => r.status === 503,
      60_000,
    );
    natsDown = false;
    await dp.nats.start();
    await load;

    // Orders rejected for any reason would need a clear JSON error; with the outbox there should be none at all.
    expect(rejected).toEqual([]);
    expect(accepted).toHaveLength(TOTAL);
    expect(new Set(accepted).size).toBe(TOTAL);
    expect(acceptedWhileDown.length).toBeGreaterThan(0);

    await eventually(
      'invoices ready again',
      () => request(invoices.url, 'GET', '/ready'),
      (r) => r.status === 200,
      60_000,
    );
    await eventually(
      'every order invoiced or parked',
      async () =>
        Number(
          (
            await sql<{ n: string }>(
              dp,
              'invoices',
              'SELECT (SELECT count(*) FROM invoices) + (SELECT count(*) FROM parked_messages) AS n',
            )
          )[0]?.n,
        ),
      (n) => n >= TOTAL,
      180_000,
    );
    // Each event exactly once in the stream, and the consumer has nothing left to deliver or settle.
    const drained = await eventually(
      'consumer drained',
      streamState,
      (s) => s.pending === 0 && s.ackPending === 0,
      60_000,
    );
    expect(drained.messages).toBe(TOTAL);

    const invoiced = await sql<{ order_id: number }>(
      dp,
      'invoices',
      'SELECT order_id FROM invoices ORDER BY order_id',
    );
    expect(invoiced.map((r) => r.order_id)).toEqual([...accepted].sort((a, b) => a - b));
    expect(await sql(dp, 'invoices', 'SELECT stream_seq, reason, error FROM parked_messages')).toEqual([]);
    expect((await request(invoices.url, 'GET', '/invoices/parked')).body['total']).toBe(0);
    expect((await request(invoices.url, 'GET', '/invoices?pageSize=1')).body['total']).toBe(TOTAL);
    expect(invoices.running && catalog.running).toBe(true);
  }, 420_000);
});
