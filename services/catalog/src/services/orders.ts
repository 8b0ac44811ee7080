import { ORDER_CREATED_SUBJECT, OrderCreatedV1 } from '@obsdemo/contracts';
import type { Logger } from '@obsdemo/telemetry';
import { NotFoundError, serializeContext } from '@obsdemo/service-kit';
import { randomUUID } from 'node:crypto';
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
  /** The new order's id, drawn once per statement (the CTE), the same on every row. */
  orderId: string;
}

/**
 * The ordered products, locked in id order (concurrent orders for the same products then cannot deadlock), with
 * the id the order will get: the outbox event, which carries it, is then written in the same statement as the order.
 * An order refused after this (unknown product, not enough stock) leaves a gap in the ids, as any rolled-back
 * insert into a serial column does.
 */
const LOCK_PRODUCTS = `
  WITH next_order AS (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id)
  SELECT p.id, p.price_cents AS "priceCents", p.stock, next_order.id AS "orderId"
  FROM products p CROSS JOIN next_order
  WHERE p.id = ANY($1::int[])
  ORDER BY p.id
  FOR UPDATE OF p`;

/**
 * Stock, order, items and outbox row in one statement: its parts see the same snapshot and the foreign keys are
 * checked at its end, when the order row exists. The rows were locked by LOCK_PRODUCTS and the stock checked
 * against them; `stock >= 0` in the table stays the backstop.
 */
const WRITE_ORDER = `
  WITH lines AS (
    SELECT * FROM unnest($6::int[], $7::int[], $8::int[]) AS l(product_id, quantity, unit_price_cents)
  ), stock AS (
    UPDATE products p SET stock = p.stock - ordered.quantity, updated_at = $5
    FROM (SELECT product_id, sum(quantity) AS quantity FROM lines GROUP BY product_id) ordered
    WHERE p.id = ordered.product_id
  ), placed AS (
    INSERT INTO orders (id, customer, currency, total_cents, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $5)
  ), items AS (
    INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
    SELECT $1, product_id, quantity, unit_price_cents FROM lines
  )
  INSERT INTO outbox (msg_id, subject, payload, trace_context, created_at)
  VALUES ($1::text, $9, $10::jsonb, $11::jsonb, $5)`;

export interface OrderServiceDeps {
  sequelize: Sequelize;
  models: Models;
  currency: string;
  logger: Logger;
  /** Called after a commit so the relay publishes now instead of at its next poll. */
  onOutboxWrite?: () => void;
  /** Called after a commit with the products whose stock changed (cache invalidation). */
  onProductsChanged?: ProductsChanged;
}

export function orderService({
  sequelize,
  models,
  currency,
  logger,
  onOutboxWrite,
  onProductsChanged,
}: OrderServiceDeps) {
  const { Order: Orders, OrderItem } = models;
  return {
    /**
     * Order, items, stock and the outbox event commit together or not at all, in four statements: BEGIN, the
     * products locked and read (with the new order's id), one statement that writes everything, COMMIT.
     */
    async create(input: NewOrder): Promise<Order> {
      const traceContext = serializeContext();
      const order = await sequelize.transaction(async (transaction) => {
        const products = await sequelize.query<LockedProduct>(LOCK_PRODUCTS, {
          bind: [input.items.map((i) => i.productId)],
          type: QueryTypes.SELECT,
          transaction,
        });
        const { lines, totalCents } = priceOrder(input.items, products);
        // priceOrder found every product, so there is at least one row and they all carry the same id.
        const id = Number(products[0]?.orderId);
        const row = {
          id,
          customer: input.customer,
          status: 'created',
          currency,
          totalCents,
          createdAt: new Date(),
        };
        const event = OrderCreatedV1.parse(orderCreatedEvent(row, lines, randomUUID()));
        await sequelize.query(WRITE_ORDER, {
          bind: [
            id,
            row.customer,
            currency,
            totalCents,
            row.createdAt,
            lines.map((l) => l.productId),
            lines.map((l) => l.quantity),
            lines.map((l) => l.unitPriceCents),
            ORDER_CREATED_SUBJECT,
            JSON.stringify(event),
            JSON.stringify(traceContext),
          ],
          type: QueryTypes.INSERT,
          transaction,
        });
        return toOrder(row, lines);
      });
      logger.info('order created', { orderId: order.id, total: order.total, items: order.items.length });
      // Stock is not part of a list page's skeleton, so list pages stay cached.
      onProductsChanged?.(
        order.items.map((i) => i.productId),
        { lists: false },
      );
      onOutboxWrite?.();
      return order;
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
