import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ORDERS_STREAM, ORDER_CREATED_SUBJECT, encodeOrderCreated } from '@obsdemo/contracts';
import { createLogger, createRegistry } from '@obsdemo/telemetry';
import { startNats, type NatsServer } from '@obsdemo/testenv';
import { connect, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { OrdersConsumer } from '../../src/consumer/orders-consumer.js';
import type { ParkInput } from '../../src/services/invoices.js';
import { eventually } from './harness.js';

class StoreDown extends Error {}

let nats: NatsServer;
let nc: NatsConnection;
let consumer: OrdersConsumer | undefined;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await consumer?.stop();
  await nc?.close();
  await nats?.dispose();
});

describe('OrdersConsumer during a store outage', () => {
  it('pauses instead of spending the delivery budget, then invoices everything once the store is back', async () => {
    let down = true;
    let probes = 0;
    const handled: number[] = [];
    const created = new Set<number>();
    const parked: ParkInput[] = [];
    consumer = new OrdersConsumer({
      natsUrl: nats.url,
      streamReplicas: 1,
      durable: 'outage-test',
      batchSize: 10,
      ackWaitMs: 5000,
      // A tiny budget: a few wasted deliveries per message during the outage would park them all.
      retry: { maxAttempts: 2, baseMs: 20, maxMs: 100 },
      logger: createLogger({ service: 'invoices', stream: new PassThrough(), level: 'error' }),
      registry: createRegistry('invoices', { defaultMetrics: false }),
      handle: async (event) => {
        handled.push(event.orderId);
        if (down) throw new StoreDown('connect ECONNREFUSED');
        created.add(event.orderId);
        return 'created';
      },
      park: async (input) => {
        if (down) throw new StoreDown('connect ECONNREFUSED');
        parked.push(input);
      },
      store: {
        isDown: (err) => err instanceof StoreDown,
        probe: async () => {
          probes++;
          if (down) throw new StoreDown('connect ECONNREFUSED');
        },
      },
    });
    consumer.start();
    await eventually(
      'consumer connected',
      async () => consumer?.connected ?? false,
      (c) => c,
    );
    const js = nc.jetstream();
    for (let orderId = 1; orderId <= 25; orderId++) {
      const payload = encodeOrderCreated({
        schemaVersion: 1,
        eventId: randomUUID(),
        orderId,
        occurredAt: new Date().toISOString(),
        customer: 'c',
        items: [{ productId: 1, quantity: 1, unitPrice: 1 }],
        total: 1,
        currency: 'EUR',
      });
      await js.publish(ORDER_CREATED_SUBJECT, payload, { msgID: String(orderId) });
    }

    // Several probe rounds: long enough for the retry budget to run out many times over had it been spent.
    await eventually(
      'the store probed while down',
      async () => probes,
      (n) => n >= 4,
      60_000,
    );
    // Only the first message was tried; the rest were handed back untried.
    expect(handled).toEqual([1]);

    down = false;
    await eventually(
      'all 25 invoiced',
      async () => created.size,
      (n) => n === 25,
      60_000,
    );
    const info = await (await nc.jetstreamManager()).consumers.info(ORDERS_STREAM, 'outage-test');
    expect({ pending: info.num_pending, ackPending: info.num_ack_pending }).toEqual({
      pending: 0,
      ackPending: 0,
    });
    expect(parked).toEqual([]);
    expect(handled.filter((id) => id === 1)).toHaveLength(2);
    expect(handled).toHaveLength(26);
  });
});
