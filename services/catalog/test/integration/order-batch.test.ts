import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type pg from 'pg';
import {
  catalogEnv,
  connectTo,
  eventually,
  metricValue,
  placeBehindALock,
  request,
  startCatalog,
  startDataplane,
  type Dataplane,
  type RunningCatalog,
} from './harness.js';

// Orders that arrive while one transaction is being written go together in the next one (`placeBehindALock` makes
// that happen deterministically).

const DATABASE = 'catalog_order_batch';
let dp: Dataplane;
let catalog: RunningCatalog;
let db: pg.Client;

beforeAll(async () => {
  dp = await startDataplane();
  await dp.pg.createDatabase(DATABASE);
  // A lock held by a test must not time the first order's statement out on a slow machine.
  catalog = await startCatalog(catalogEnv(dp, DATABASE, { DB_QUERY_TIMEOUT_MS: '60000' }));
  db = await connectTo(dp, DATABASE);
});

afterAll(async () => {
  await db?.end();
  await catalog?.close();
  await dp?.stop();
});

const placeOrder = (customer: string, productId: number, quantity: number) =>
  request(catalog.url, 'POST', '/orders', { customer, items: [{ productId, quantity }] });

async function newProduct(sku: string, stock: number): Promise<number> {
  const res = await request(catalog.url, 'POST', '/products', {
    sku,
    name: sku,
    category: 'test',
    price: 3,
    stock,
  });
  expect(res.status).toBe(201);
  return res.body['id'] as number;
}

const stockOf = async (id: number) =>
  (await db.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [id])).rows[0]?.stock;

const outboxOrderIds = async (ids: number[]) =>
  (
    await db.query<{ msg_id: string; order_id: number }>(
      `SELECT msg_id, (payload->>'orderId')::int AS order_id FROM outbox WHERE msg_id = ANY($1::text[]) ORDER BY id`,
      [ids.map(String)],
    )
  ).rows;

describe('orders written together', () => {
  it('writes the orders that queued behind a transaction in one, each priced against the stock the earlier left', async () => {
    const product = await newProduct('BATCH-A', 5);
    const batchesBefore = await metricValue(catalog.url, 'orders_write_batch_size_count');
    const ordersBefore = await metricValue(catalog.url, 'orders_write_batch_size_sum');

    const { first, next } = await placeBehindALock(
      { dp, database: DATABASE, catalogUrl: catalog.url },
      product,
      () => placeOrder('first', product, 1),
      ['b', 'c', 'd', 'e'].map((customer) => () => placeOrder(customer, product, 2)),
    );

    expect(first.status).toBe(201);
    // 4 left after the first: two of the four orders of 2 get them, in the order they arrived; the others are refused
    // with what was left when their turn came.
    expect(next.map((a) => a.status).sort()).toEqual([201, 201, 409, 409]);
    // The batch drew one id per order in arrival order, and the first two were accepted: priced in turn, written by
    // that one transaction (an order tried again alone would have drawn a later id).
    const firstId = first.body['id'] as number;
    expect(
      next
        .filter((a) => a.status === 201)
        .map((a) => a.body['id'])
        .sort(),
    ).toEqual([firstId + 1, firstId + 2]);
    for (const refused of next.filter((a) => a.status === 409)) {
      expect(refused.body).toMatchObject({
        error: 'insufficient_stock',
        details: { shortages: [{ productId: product, requested: 2, available: 0 }] },
      });
    }
    expect(await stockOf(product)).toBe(0);
    // Two transactions: the first order alone, then the four that waited.
    expect((await metricValue(catalog.url, 'orders_write_batch_size_count')) - batchesBefore).toBe(2);
    expect((await metricValue(catalog.url, 'orders_write_batch_size_sum')) - ordersBefore).toBe(5);

    // Each accepted order has its own id and its own outbox event, carrying that id.
    const accepted = [first, ...next].filter((a) => a.status === 201).map((a) => a.body['id'] as number);
    expect(new Set(accepted).size).toBe(3);
    expect((await outboxOrderIds(accepted)).map((r) => r.order_id).sort()).toEqual([...accepted].sort());
    for (const id of accepted) {
      const res = await request(catalog.url, 'GET', `/orders/${id}`);
      expect(res.body).toMatchObject({ id, items: [{ productId: product }] });
    }
  });

  it('tries each order of a failed batch alone, so one order the database refuses does not fail the others', async () => {
    const product = await newProduct('BATCH-B', 100);
    await db.query(`
      CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.customer = 'poison' THEN RAISE EXCEPTION 'poison order refused by a test trigger'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION refuse_poison();`);
    try {
      const { first, next } = await placeBehindALock(
        { dp, database: DATABASE, catalogUrl: catalog.url },
        product,
        () => placeOrder('first', product, 1),
        ['b', 'poison', 'c'].map((customer) => () => placeOrder(customer, product, 1)),
      );
      expect(first.status).toBe(201);
      const [b, poison, c] = next;
      expect([b?.status, c?.status]).toEqual([201, 201]);
      expect(poison?.status).toBe(500);
      expect(poison?.body['error']).toEqual(expect.any(String));
      // Nothing of the refused order was written; the others' stock, orders and events were.
      expect(await stockOf(product)).toBe(97);
      const accepted = [first, b, c].map((a) => a?.body['id'] as number);
      expect((await outboxOrderIds(accepted)).map((r) => r.order_id).sort()).toEqual([...accepted].sort());
      const poisoned = await db.query(`SELECT id FROM orders WHERE customer = 'poison'`);
      expect(poisoned.rowCount).toBe(0);
    } finally {
      await db.query('DROP TRIGGER refuse_poison ON orders; DROP FUNCTION refuse_poison()');
    }
  });

  it('writes an order at once when none is being written', async () => {
    const product = await newProduct('BATCH-C', 10);
    const batchesBefore = await metricValue(catalog.url, 'orders_write_batch_size_count');
    for (const customer of ['one', 'two', 'three'])
      expect((await placeOrder(customer, product, 1)).status).toBe(201);
    expect((await metricValue(catalog.url, 'orders_write_batch_size_count')) - batchesBefore).toBe(3);
    expect(await metricValue(catalog.url, 'orders_write_waiting')).toBe(0);
    expect(await stockOf(product)).toBe(7);
  });

  it('answers every waiting order 503 when PostgreSQL is down, and takes orders again once it is back', async () => {
    const product = await newProduct('BATCH-D', 10);
    const { first, next } = await placeBehindALock(
      { dp, database: DATABASE, catalogUrl: catalog.url },
      product,
      () => placeOrder('first', product, 1),
      ['b', 'c', 'd'].map((customer) => () => placeOrder(customer, product, 1)),
      // The server stops: the waiting transaction loses its connection, the next finds none.
      () => dp.pg.halt(),
    );
    await dp.pg.start();
    for (const answer of [first, ...next]) {
      expect(answer.status).toBe(503);
      expect(answer.body['error']).toBe('service_unavailable');
    }
    await db.end();
    db = await connectTo(dp, DATABASE);
    await eventually(
      'catalog takes orders again',
      () => placeOrder('after', product, 1),
      (answer) => answer.status === 201,
    );
    expect(await stockOf(product)).toBe(9);
  });

  it('keeps every customer string exactly, whatever an array literal would need escaped', async () => {
    const product = await newProduct('BATCH-E', 50);
    const customers = ['NULL', 'a "quoted", {braced} name', 'back\\slash\\', 'Zoë — 注文 🚚', "O'Brien"];
    const { first, next } = await placeBehindALock(
      { dp, database: DATABASE, catalogUrl: catalog.url },
      product,
      () => placeOrder('first', product, 1),
      customers.map((customer) => () => placeOrder(customer, product, 1)),
    );
    expect(first.status).toBe(201);
    const answered = next.map((a) => ({ status: a.status, customer: a.body['customer'] }));
    expect(answered).toEqual(customers.map((customer) => ({ status: 201, customer })));
    for (const answer of next.filter((a) => a.status === 201)) {
      const id = answer.body['id'] as number;
      const { rows } = await db.query<{ customer: string; event_customer: string }>(
        `SELECT o.customer, ob.payload->>'customer' AS event_customer
         FROM orders o JOIN outbox ob ON ob.msg_id = o.id::text WHERE o.id = $1`,
        [id],
      );
      expect(rows).toEqual([{ customer: answer.body['customer'], event_customer: answer.body['customer'] }]);
    }
  });

  it('answers at once the orders waiting behind a statement that timed out, without trying them', async () => {
    const product = await newProduct('BATCH-F', 10);
    const impatient = await startCatalog(catalogEnv(dp, DATABASE, { DB_QUERY_TIMEOUT_MS: '1000' }));
    try {
      // Each write attempt is one transaction (Sequelize's START TRANSACTION).
      const transactions = () => metricValue(impatient.url, 'database_queries_total', { operation: 'start' });
      const before = await transactions().catch(() => 0);
      const { first, next } = await placeBehindALock(
        { dp, database: DATABASE, catalogUrl: impatient.url },
        product,
        () =>
          request(impatient.url, 'POST', '/orders', {
            customer: 'first',
            items: [{ productId: product, quantity: 1 }],
          }),
        ['b', 'c', 'd'].map(
          (customer) => () =>
            request(impatient.url, 'POST', '/orders', {
              customer,
              items: [{ productId: product, quantity: 1 }],
            }),
        ),
        // The lock stays held until every order is answered: the first statement times out after 1 s.
        async () => undefined,
      );
      for (const answer of [first, ...next])
        expect(answer).toMatchObject({ status: 503, body: { error: 'service_unavailable' } });
      // One transaction waited for the lock; the orders behind it got its error instead of waiting in turn.
      expect((await transactions()) - before).toBe(1);
      expect(await metricValue(impatient.url, 'orders_write_batch_failures_total')).toBe(0);
    } finally {
      await impatient.close();
    }
    expect(await stockOf(product)).toBe(10);
  });

  it('on shutdown, refuses new orders and writes and answers those already taken', async () => {
    const product = await newProduct('BATCH-G', 10);
    const closing = await startCatalog(catalogEnv(dp, DATABASE, { DB_QUERY_TIMEOUT_MS: '60000' }));
    const place = (customer: string) => () =>
      request(closing.url, 'POST', '/orders', { customer, items: [{ productId: product, quantity: 1 }] });
    try {
      let closed = false;
      let late: Awaited<ReturnType<typeof request>> | undefined;
      const { first, next } = await placeBehindALock(
        { dp, database: DATABASE, catalogUrl: closing.url },
        product,
        place('first'),
        [place('waiting')],
        async (locker) => {
          const close = closing.orders.close().then(() => (closed = true));
          late = await place('late')();
          // The lock is still held, so the taken orders cannot have been written yet.
          expect(closed).toBe(false);
          await locker.query('COMMIT');
          await close;
        },
      );
      expect(late).toMatchObject({ status: 503, body: { error: 'service_unavailable' } });
      expect([first.status, ...next.map((a) => a.status)]).toEqual([201, 201]);
      expect(closed).toBe(true);
    } finally {
      await closing.close();
    }
    expect(await stockOf(product)).toBe(8);
  });
});
