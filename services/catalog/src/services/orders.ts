import { ORDER_CREATED_SUBJECT, OrderCreatedV1 } from '@obsdemo/contracts';
import type { Logger } from '@obsdemo/telemetry';
import { NotFoundError, serializeContext } from '@obsdemo/service-kit';
import { randomUUID } from 'node:crypto';
import { Op, type Sequelize } from 'sequelize';
import type { Models, OrderItemRow, OrderRow } from '../db/models.js';
import { orderCreatedEvent } from '../domain/events.js';
import { fromCents, priceOrder } from '../domain/pricing.js';
import type { NewOrder, Order } from '../schemas.js';
import type { ProductsChanged } from './products.js';

function toOrder(row: OrderRow, items: OrderItemRow[]): Order {
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
  const { Product, Order: Orders, OrderItem, Outbox } = models;
  return {
    /** Order, items, stock and the outbox event commit together or not at all. */
    async create(input: NewOrder): Promise<Order> {
      const traceContext = serializeContext();
      const order = await sequelize.transaction(async (transaction) => {
        const ids = input.items.map((i) => i.productId);
        // Row locks in id order keep concurrent orders for the same products from deadlocking.
        const products = await Product.findAll({
          where: { id: { [Op.in]: ids } },
          order: [['id', 'ASC']],
          lock: transaction.LOCK.UPDATE,
          transaction,
        });
        const { lines, totalCents } = priceOrder(
          input.items,
          products.map((p) => p.get({ plain: true })),
        );
        for (const line of lines) {
          await Product.decrement('stock', { by: line.quantity, where: { id: line.productId }, transaction });
        }
        const created = await Orders.create(
          { customer: input.customer, currency, totalCents },
          { transaction },
        );
        const row = created.get({ plain: true });
        const items = await OrderItem.bulkCreate(
          lines.map((l) => ({
            orderId: row.id,
            productId: l.productId,
            quantity: l.quantity,
            unitPriceCents: l.unitPriceCents,
          })),
          { transaction, returning: true },
        );
        const event = OrderCreatedV1.parse(orderCreatedEvent(row, lines, randomUUID()));
        await Outbox.create(
          { msgId: String(row.id), subject: ORDER_CREATED_SUBJECT, payload: event, traceContext },
          { transaction },
        );
        return toOrder(
          row,
          items.map((i) => i.get({ plain: true })),
        );
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
