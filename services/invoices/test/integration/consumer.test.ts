import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import {
  ORDERS_STREAM,
  ORDER_CREATED_SUBJECT,
  encodeOrderCreated,
  ensureOrdersStream,
  type OrderCreated,
} from '@obsdemo/contracts';
import { createLogger, createRegistry } from '@obsdemo/telemetry';
import { startNats, type NatsServer } from '@obsdemo/testenv';
import { connect, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { OrdersConsumer, type ConsumerOptions } from '../../src/consumer/orders-consumer.js';
import { InvoiceMismatchError } from '../../src/domain/invoice.js';
import type { ParkInput } from '../../src/services/invoices.js';
import { eventually } from './harness.js';

let nats: NatsServer;
let nc: NatsConnection;
const consumers: OrdersConsumer[] = [];

/** Each test gets its own server, so one test's messages never reach another test's consumer. */
beforeEach(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.stop();
  await nc?.close();
  await nats?.dispose();
});

async function start(durable: string, overrides: Partial<ConsumerOptions>): Promise<OrdersConsumer> {
  const consumer = new OrdersConsumer({
    natsUrl: nats.url,
    streamReplicas: 1,
    durable,
    batchSize: 10,
    ackWaitMs: 5000,
    retry: { maxAttempts: 3, baseMs: 20, maxMs: 100 },
    logger: createLogger({ service: 'invoices', stream: new PassThrough(), level: 'error' }),
    registry: createRegistry('invoices', { defaultMetrics: false }),
    handle: async () => 'created',
    park: async () => undefined,
    ...overrides,
  });
  consumers.push(consumer);
  consumer.start();
  // The consumer creates the stream if it is missing; publishing before that would find no stream.
  await eventually(
    'consumer connected',
    async () => consumer.connected,
    (c) => c,
  );
  return consumer;
}

async function publish(orderId: number): Promise<void> {
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
  await nc.jetstream().publish(ORDER_CREATED_SUBJECT, payload, { msgID: `${orderId}` });
}

async function drained(durable: string): Promise<boolean> {
  const info = await (await nc.jetstreamManager()).consumers.info(ORDERS_STREAM, durable);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describe('OrdersConsumer against real JetStream', () => {
  it('redelivers temporary failures with backoff and parks a message after its last allowed delivery', async () => {
    const attempts = new Map<number, number>();
    const parked: ParkInput[] = [];
    await start('retry-test', {
      handle: async (event: OrderCreated) => {
        const n = (attempts.get(event.orderId) ?? 0) + 1;
        attempts.set(event.orderId, n);
        // Order 1 recovers on its third delivery; order 2 never does.
        if (event.orderId === 2 || n < 3) throw new Error('database unavailable');
        return 'created';
      },
      park: async (input) => {
        parked.push(input);
      },
    });
    await publish(1);
    await publish(2);
    await eventually(
      'both messages settled',
      () => drained('retry-test'),
      (d) => d && parked.length === 1,
    );
    expect(attempts.get(1)).toBe(3);
    expect(attempts.get(2)).toBe(3);
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ reason: 'max_attempts', deliveries: 3, error: 'database unavailable' });
    expect(JSON.parse(parked[0]?.payload ?? '{}')).toMatchObject({ orderId: 2 });
  });

  it('on stop, finishes and acks the message in hand before closing', async () => {
    let release: () => void = () => undefined;
    const handled: number[] = [];
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const consumer = await start('stop-test', {
      handle: async (event) => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        handled.push(event.orderId);
        return 'created';
      },
    });
    await publish(3);
    await inHandler;
    const stopping = consumer.stop();
    release();
    await stopping;
    expect(handled).toEqual([3]);
    expect(consumer.connected).toBe(false);
    expect(await drained('stop-test')).toBe(true);
  });

  it('on stop, hands the rest of the batch back without spending their deliveries, so the next replica invoices them', async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const first = await start('handback-test', {
      // Room in the pull for many redeliveries, as in production (50).
      batchSize: 50,
      handle: async () => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        return 'created';
      },
    });
    for (let id = 10; id < 13; id++) await publish(id);
    await inHandler;
    const stopping = first.stop();
    release();
    await stopping;
    // A hand-back redelivered at once could land in the stopping replica's still-open pull and be handed back
    // again, dozens of times in a second: the next replica would then find it over budget and park it.
    const handled: number[] = [];
    const parked: ParkInput[] = [];
    await start('handback-test', {
      handle: async (event) => {
        handled.push(event.orderId);
        return 'created';
      },
      park: async (input) => {
        parked.push(input);
      },
    });
    await eventually(
      'the rest of the batch settled',
      () => drained('handback-test'),
      (d) => d,
    );
    expect(parked).toEqual([]);
    expect(handled.sort((a, b) => a - b)).toEqual([11, 12]);
  });

  /** A backlog: the stream created and `ids` published before any consumer runs, as after an outage. */
  async function backlog(ids: number[]): Promise<void> {
    await ensureOrdersStream((await nc.jetstreamManager()).streams, 1);
    for (const id of ids) await publish(id);
  }

  it('writes a backlog with handleBatch, several messages per call, and acks each once', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => 100 + i);
    await backlog(ids);
    const handled: number[] = [];
    const batches: number[][] = [];
    const registry = createRegistry('invoices', { defaultMetrics: false });
    await start('batch-test', {
      batchSize: 50,
      registry,
      handle: async (event) => {
        handled.push(event.orderId);
        return 'created';
      },
      handleBatch: async (events) => {
        batches.push(events.map((e) => e.orderId));
        return events.map(() => 'created');
      },
    });
    await eventually(
      'all 30 settled',
      () => drained('batch-test'),
      (d) => d,
    );
    // Each written once, by one path or the other.
    expect([...handled, ...batches.flat()].sort((a, b) => a - b)).toEqual(ids);
    expect(Math.max(0, ...batches.map((b) => b.length))).toBeGreaterThan(1);
    const metrics = await registry.getMetricsAsJSON();
    const sizes = metrics.find((m) => m.name === 'messaging_process_batch_size') as {
      values: { metricName?: string; value: number }[];
    };
    const value = (suffix: string) =>
      sizes.values.find((v) => v.metricName === `messaging_process_batch_size${suffix}`)?.value;
    expect(value('_sum')).toBe(30);
    expect(value('_count')).toBe(handled.length + batches.length);
    const consumed = metrics.find((m) => m.name === 'messaging_messages_consumed_total') as {
      values: { labels: { result?: string }; value: number }[];
    };
    expect(
      consumed.values.filter((v) => v.labels.result === 'created').reduce((n, v) => n + v.value, 0),
    ).toBe(30);
  });

  it('when a batch write fails, handles its messages one by one: the poison one is parked, the rest written once', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => 200 + i);
    await backlog(ids);
    const handled: number[] = [];
    const batches: number[][] = [];
    const parked: ParkInput[] = [];
    // As computeInvoice does, for the whole batch when one event's numbers disagree.
    const check = (event: OrderCreated) => {
      if (event.orderId === 205) throw new InvoiceMismatchError('order 205: lines do not add up');
    };
    await start('batch-fail-test', {
      batchSize: 50,
      handle: async (event) => {
        check(event);
        handled.push(event.orderId);
        return 'created';
      },
      handleBatch: async (events) => {
        batches.push(events.map((e) => e.orderId));
        events.forEach(check);
        return events.map(() => 'created');
      },
      park: async (input) => {
        parked.push(input);
      },
    });
    await eventually(
      'all 10 settled',
      () => drained('batch-fail-test'),
      (d) => d && parked.length === 1,
    );
    // The backlog reached the consumer together: 205 came in a batch, which failed and was handled one by one.
    expect(batches.some((b) => b.includes(205) && b.length > 1)).toBe(true);
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ reason: 'invalid', deliveries: 1 });
    expect(JSON.parse(parked[0]?.payload ?? '{}')).toMatchObject({ orderId: 205 });
    // Written once each: alone, or by a batch that succeeded (never both, never twice).
    const written = [...handled, ...batches.filter((b) => !b.includes(205)).flat()].sort((a, b) => a - b);
    expect(written).toEqual(ids.filter((id) => id !== 205));
  });
});
