import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ORDER_CREATED_SUBJECT, encodeOrderCreated } from '@obsdemo/contracts';
import type { ServiceProcess } from '@obsdemo/testenv';
import { connect, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import {
  buildServices,
  eventually,
  request,
  sql,
  startDataplane,
  startInvoicesProcess,
  type Dataplane,
} from './harness.js';

let dp: Dataplane;
let faulty: ServiceProcess;
let healthy: ServiceProcess;
let nc: NatsConnection;

beforeAll(async () => {
  buildServices('invoices');
  dp = await startDataplane();
  // Separate durables: each process reads every order event.
  faulty = await startInvoicesProcess(dp, 'faulty', { FAULT_ERROR_PERCENT: '100', CONSUMER_NAME: 'faulty' });
  healthy = await startInvoicesProcess(dp, 'healthy', { FAULT_ERROR_PERCENT: '0', CONSUMER_NAME: 'healthy' });
  nc = await connect({ servers: dp.nats.url });
});

afterAll(async () => {
  await nc?.close();
  await faulty?.stop();
  await healthy?.stop();
  await dp?.stop();
});

describe('fault injection (FAULT_*)', () => {
  it('at FAULT_ERROR_PERCENT=100 fails the API with 503 injected_fault while /health and /ready stay 200', async () => {
    expect(await request(faulty.url, 'GET', '/invoices')).toEqual({
      status: 503,
      body: { error: 'injected_fault', message: 'injected failure (FAULT_ERROR_PERCENT)' },
    });
    expect((await request(faulty.url, 'GET', '/health')).status).toBe(200);
    expect((await request(faulty.url, 'GET', '/ready')).status).toBe(200);
    const info = await request(faulty.url, 'GET', '/info');
    expect(info.body['config']).toMatchObject({
      FAULT_ERROR_PERCENT: 100,
      FAULT_LATENCY_MS: 0,
      FAULT_LATENCY_PERCENT: 0,
    });
  });

  it('leaves the NATS consumer alone: order events still become invoices', async () => {
    const orderId = 4242;
    const event = {
      schemaVersion: 1 as const,
      eventId: randomUUID(),
      orderId,
      occurredAt: new Date().toISOString(),
      customer: 'fault-injection',
      items: [{ productId: 1, quantity: 2, unitPrice: 10.5 }],
      total: 21,
      currency: 'EUR',
    };
    await nc
      .jetstream()
      .publish(ORDER_CREATED_SUBJECT, encodeOrderCreated(event), { msgID: String(orderId) });
    const rows = await eventually(
      'invoice written by the faulty process',
      () => sql<{ order_id: number }>(dp, 'faulty', 'SELECT order_id FROM invoices'),
      (r) => r.length > 0,
      30_000,
    );
    expect(rows).toEqual([{ order_id: orderId }]);
  });

  it('at 0 percent answers the API as usual', async () => {
    const res = await request(healthy.url, 'GET', '/invoices?pageSize=1');
    expect(res.status).toBe(200);
    expect(res.body).toHaveProperty('total');
    expect((await request(healthy.url, 'GET', '/ready')).status).toBe(200);
  });
});
