import { ORDER_CREATED_SUBJECT, OrderCreatedV1 } from '@obsdemo/contracts';
import type { Logger } from '@obsdemo/telemetry';
import { NotFoundError, ServiceUnavailableError, serializeContext } from '@obsdemo/service-kit';
import { ROOT_CONTEXT, context, trace, type Context } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram, type OpenMetricsContentType, type Registry } from 'prom-client';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Models, OrderItemRow, OrderRow } from '../db/models.js';
import { orderCreatedEvent } from '../domain/events.js';
import { fromCents, priceOrder, type PricedProduct } from '../domain/pricing.js';
import type { NewOrder, Order } from '../schemas.js';
import type { ProductsChanged } from './products.js';

type OrderHead = Pick<OrderRow, 'id' | 'customer' | 'status' | 'currency' | 'totalCents' | 'createdAt'>;
type OrderLine = Pick<OrderItemRow, 'productId' | 'quantity' | 'unitPriceCents'>;

function toOrder(row: OrderHead, items: readonly OrderLine[]): Order {
  return {
    id: row.id,
    customer: row.customer,
    status: row.status,
    currency: row.currency,
    total: fromCents(Number(row.totalCents)),
    createdAt: row.createdAt.toISOString(),
    items: items.map((i) => ({
      productId: i.productId,
      quantity: i.quantity,
      unitPrice: fromCents(i.unitPriceCents),
      lineTotal: fromCents(i.unitPriceCents * i.quantity),
    })),
  };
}

function plainOrder(m: { get(options: { plain: true }): OrderRow }): Order {
  const row = m.get({ plain: true });
  const items = row.items ?? [];
  return toOrder(
    row,
    [...items].sort((a, b) => a.id - b.id),
  );
}

interface LockedProduct extends PricedProduct {
  /** The ids the batch's orders will get, drawn once per statement (the CTE), the same array on every row. */
  orderIds: (string | number)[];
}

/**
 * The products of every order in the batch, locked in id order (concurrent batches and replicas for the same
 * products then cannot deadlock), with one id per order: the outbox events, which carry them, are then written in
 * the same statement as the orders. An order refused after this (unknown product, not enough stock) leaves a gap in
 * the ids, as any rolled-back insert into a serial column does.
 */
const LOCK_PRODUCTS = `
  WITH next_orders AS (
    SELECT array_agg(nextval(pg_get_serial_sequence('orders', 'id')) ORDER BY n) AS ids
    FROM generate_series(1, $2::int) AS n
  )
  SELECT p.id, p.price_cents AS "priceCents", p.stock, next_orders.ids AS "orderIds"
  FROM products p CROSS JOIN next_orders
  WHERE p.id = ANY($1::int[])
  ORDER BY p.id
  FOR UPDATE OF p`;

/**
 * Stock, orders, items and outbox rows of the whole batch in one statement: its parts see the same snapshot and the
 * foreign keys are checked at its end, when the order rows exist. The rows were locked by LOCK_PRODUCTS and the
 * stock checked against them; `stock >= 0` in the table stays the backstop.
 */
const WRITE_ORDERS = `
  WITH placed_orders AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[], $4::text[], $5::text[])
      AS o(id, customer, total_cents, payload, trace_context)
  ), lines AS (
    SELECT * FROM unnest($6::int[], $7::int[], $8::int[], $9::int[])
      AS l(order_id, product_id, quantity, unit_price_cents)
  ), stock AS (
    UPDATE products p SET stock = p.stock - ordered.quantity, updated_at = $10
    FROM (SELECT product_id, sum(quantity) AS quantity FROM lines GROUP BY product_id) ordered
    WHERE p.id = ordered.product_id
  ), placed AS (
    INSERT INTO orders (id, customer, currency, total_cents, created_at, updated_at)
    SELECT id, customer, $11, total_cents, $10, $10 FROM placed_orders
  ), items AS (
    INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
    SELECT order_id, product_id, quantity, unit_price_cents FROM lines
  )
  INSERT INTO outbox (msg_id, subject, payload, trace_context, created_at)
  SELECT id::text, $12, payload::jsonb, trace_context::jsonb, $10 FROM placed_orders ORDER BY id`;

/** At most this many orders are written by one transaction (each has at most 50 items). */
export const MAX_ORDERS_PER_WRITE = 64;
/** Orders beyond this many waiting are answered 503 at once: the database is not keeping up. */
export const MAX_ORDERS_WAITING = 1024;

/** An order waiting for its write, with the request's context (its trace and log correlation). */
interface Placement {
  input: NewOrder;
  ctx: Context;
  resolve: (order: Order) => void;
  reject: (error: unknown) => void;
}

type Outcome = { order: Order } | { error: unknown };

export interface OrderServiceDeps {
  sequelize: Sequelize;
  models: Models;
  currency: string;
  logger: Logger;
  /** Where the write metrics are registered; none in unit tests. */
  registry?: Registry<OpenMetricsContentType>;
  /** Called after a commit so the relay publishes now instead of at its next poll. */
  onOutboxWrite?: () => void;
  /** Called after a commit with the products whose stock changed (cache invalidation). */
  onProductsChanged?: ProductsChanged;
  /**
   * Whether a failed write means the database cannot be reached (refused, dropped or timed out): then the batch's
   * orders, and those waiting behind it, get that error at once instead of each trying again.
   */
  isUnavailable?: (error: unknown) => boolean;
}

export function orderService({
  sequelize,
  models,
  currency,
  logger,
  registry,
  onOutboxWrite,
  onProductsChanged,
  isUnavailable = () => false,
}: OrderServiceDeps) {
  const { Order: Orders, OrderItem } = models;
  const registers = registry ? [registry] : [];
  const batchSizes = new Histogram({
    name: 'orders_write_batch_size',
    help: 'Orders handled by one committed transaction (written or refused): 1 when they come one at a time, more when they arrive while one is written.',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers,
  });
  const batchFailures = new Counter({
    name: 'orders_write_batch_failures_total',
    help: 'Transactions of several orders that failed and whose orders were then tried one by one.',
    registers,
  });
  const waiting: Placement[] = [];
  new Gauge({
    name: 'orders_write_waiting',
    help: 'Orders received and waiting for the transaction that will write them.',
    registers,
    collect() {
      this.set(waiting.length);
    },
  });

  /**
   * Writes `batch` in one transaction of four statements: BEGIN, every ordered product locked and read (with one
   * new id per order), one statement that writes all accepted orders, COMMIT. Each order is priced in arrival order
   * against the stock the orders before it left, so a refusal is the one it would get alone after them. Throws if
   * the transaction failed: then nothing of it was written, unless it was the COMMIT's answer that was lost.
   */
  async function write(batch: readonly Placement[]): Promise<Outcome[]> {
    const createdAt = new Date();
    const productIds = [...new Set(batch.flatMap((p) => p.input.items.map((i) => i.productId)))];
    return sequelize.transaction(async (transaction) => {
      const rows = await sequelize.query<LockedProduct>(LOCK_PRODUCTS, {
        bind: [productIds, batch.length],
        type: QueryTypes.SELECT,
        transaction,
      });
      const ids = (rows[0]?.orderIds ?? []).map(Number).sort((a, b) => a - b);
      const stock = new Map(rows.map((r) => [r.id, { id: r.id, priceCents: r.priceCents, stock: r.stock }]));
      const accepted: {
        id: number;
        customer: string;
        totalCents: number;
        payload: string;
        context: string;
      }[] = [];
      const lines: { orderId: number; productId: number; quantity: number; unitPriceCents: number }[] = [];
      const outcomes = batch.map((placement, index): Outcome => {
        try {
          const priced = priceOrder(placement.input.items, [...stock.values()]);
          // priceOrder found every product, so there were rows, and one id per order.
          const id = ids[index];
          if (id === undefined)
            throw new Error(`no order id drawn for order ${index + 1} of ${batch.length}`);
          const row = {
            id,
            customer: placement.input.customer,
            status: 'created',
            currency,
            ...priced,
            createdAt,
          };
          const event = OrderCreatedV1.parse(orderCreatedEvent(row, priced.lines, randomUUID()));
          const context = JSON.stringify(serializeContext(placement.ctx));
          // Everything that can throw is done: the order, its lines and its stock go in together.
          accepted.push({
            id,
            customer: row.customer,
            totalCents: row.totalCents,
            payload: JSON.stringify(event),
            context,
          });
          for (const line of priced.lines) {
            const product = stock.get(line.productId);
            if (product) product.stock -= line.quantity;
            lines.push({ orderId: id, ...line });
          }
          return { order: toOrder(row, priced.lines) };
        } catch (error) {
          return { error };
        }
      });
      if (accepted.length > 0) {
        await sequelize.query(WRITE_ORDERS, {
          bind: [
            accepted.map((o) => o.id),
            accepted.map((o) => o.customer),
            accepted.map((o) => o.totalCents),
            accepted.map((o) => o.payload),
            accepted.map((o) => o.context),
            lines.map((l) => l.orderId),
            lines.map((l) => l.productId),
            lines.map((l) => l.quantity),
            lines.map((l) => l.unitPriceCents),
            createdAt,
            currency,
            ORDER_CREATED_SUBJECT,
          ],
          type: QueryTypes.INSERT,
          transaction,
        });
      }
      return outcomes;
    });
  }

  /** Runs `fn`, logging instead of throwing: what runs after a commit must not keep other orders from their answer. */
  function guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      logger.error(`${what} failed`, { err: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Answers each order of a committed batch: its span attribute and log line in its own trace, then the hooks. */
  function settle(batch: readonly Placement[], outcomes: readonly Outcome[]): void {
    batchSizes.observe(batch.length);
    const changed = new Set<number>();
    batch.forEach((placement, index) => {
      const outcome = outcomes[index] ?? { error: new Error('the order write returned no outcome') };
      context.with(placement.ctx, () =>
        guarded('recording an order', () => {
          trace.getActiveSpan()?.setAttribute('catalog.orders.write_batch_size', batch.length);
          if ('order' in outcome) {
            const { order } = outcome;
            logger.info('order created', {
              orderId: order.id,
              total: order.total,
              items: order.items.length,
            });
          }
        }),
      );
      if ('error' in outcome) return placement.reject(outcome.error);
      for (const item of outcome.order.items) changed.add(item.productId);
      placement.resolve(outcome.order);
    });
    if (changed.size === 0) return;
    // Stock is not part of a list page's skeleton, so list pages stay cached.
    guarded('invalidating the ordered products', () => onProductsChanged?.([...changed], { lists: false }));
    guarded('waking the outbox relay', () => onOutboxWrite?.());
  }

  /** Rejects `batch`, and with `alsoWaiting` every order still waiting, with `error`. */
  function fail(batch: readonly Placement[], error: unknown, alsoWaiting: boolean): void {
    const failed = alsoWaiting ? [...batch, ...waiting.splice(0)] : batch;
    for (const placement of failed) {
      context.with(placement.ctx, () =>
        guarded('recording an order', () =>
          trace.getActiveSpan()?.setAttribute('catalog.orders.write_batch_size', batch.length),
        ),
      );
      placement.reject(error);
    }
  }

  /**
   * One transaction at a time: the orders that arrive while one is written wait and go together in the next (group
   * commit), so under load the four statements and the commit are paid once per batch, not per order; one order
   * alone is written at once. The statements' spans are in the trace of the batch's first order. If a batch of
   * several fails, each order is tried alone, so one order cannot fail the others; if the database cannot be
   * reached, the batch and every order waiting behind it get that error at once (503).
   */
  let writing = false;
  /** Resolved when the writer stops, for `close`. */
  let onIdle: (() => void) | undefined;
  async function drain(): Promise<void> {
    writing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, MAX_ORDERS_PER_WRITE);
        const first = batch[0];
        if (first === undefined) break;
        let outcomes: Outcome[];
        try {
          outcomes = await context.with(first.ctx, () => write(batch));
        } catch (error) {
          const unavailable = isUnavailable(error);
          if (batch.length === 1 || unavailable) {
            fail(batch, error, unavailable);
            continue;
          }
          batchFailures.inc();
          context.with(first.ctx, () =>
            logger.warn('order batch write failed, its orders are written one by one', {
              err: error instanceof Error ? error.message : String(error),
              orders: batch.length,
            }),
          );
          for (const [index, placement] of batch.entries()) {
            try {
              settle([placement], await context.with(placement.ctx, () => write([placement])));
            } catch (alone) {
              const unreachable = isUnavailable(alone);
              // The database went away meanwhile: the rest of the batch and those waiting get its error.
              fail(unreachable ? batch.slice(index) : [placement], alone, unreachable);
              if (unreachable) break;
            }
          }
          continue;
        }
        settle(batch, outcomes);
      }
    } finally {
      writing = false;
      onIdle?.();
      onIdle = undefined;
    }
  }

  let closing = false;
  return {
    /** Order, items, stock and the outbox event commit together or not at all (see `drain` and `write`). */
    create(input: NewOrder): Promise<Order> {
      if (closing)
        return Promise.reject(new ServiceUnavailableError('catalog is shutting down; retry the order'));
      if (waiting.length >= MAX_ORDERS_WAITING) {
        return Promise.reject(
          new ServiceUnavailableError('too many orders are waiting to be written; retry later', {
            waiting: waiting.length,
          }),
        );
      }
      return new Promise<Order>((resolve, reject) => {
        waiting.push({ input, ctx: context.active(), resolve, reject });
        // Not in this request's context: the writer outlives it and serves other requests' orders.
        if (!writing) void context.with(ROOT_CONTEXT, () => drain());
      });
    },

    /** Refuses new orders (503) and waits until those already taken are written and answered. */
    async close(): Promise<void> {
      closing = true;
      if (!writing) return;
      await new Promise<void>((resolve) => {
        const before = onIdle;
        onIdle = () => {
          before?.();
          resolve();
        };
      });
    },

    async get(id: number): Promise<Order> {
      const row = await Orders.findByPk(id, { include: [{ model: OrderItem, as: 'items' }] });
      if (!row) throw new NotFoundError(`order ${id} not found`);
      return plainOrder(row);
    },

    async list(query: { page: number; pageSize: number }) {
      const { rows, count } = await Orders.findAndCountAll({
        include: [{ model: OrderItem, as: 'items' }],
        order: [['id', 'DESC']],
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
        distinct: true,
      });
      return { items: rows.map(plainOrder), page: query.page, pageSize: query.pageSize, total: count };
    },
  };
}

export type OrderService = ReturnType<typeof orderService>;
