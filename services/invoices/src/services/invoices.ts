import { NotFoundError } from '@obsdemo/service-kit';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { InvoiceLineRow, InvoiceRow, Models, ParkedMessageRow } from '../db/models.js';
import type { ParkReason } from '../domain/delivery.js';
import { fromCents, type InvoiceDraft } from '../domain/invoice.js';
import type { Invoice, ParkedMessage } from '../schemas.js';

function toInvoice(row: InvoiceRow): Invoice {
  const lines = [...(row.lines ?? [])].sort((a, b) => Number(a.id) - Number(b.id));
  return {
    id: Number(row.id),
    number: row.number,
    orderId: row.orderId,
    eventId: row.eventId,
    customer: row.customer,
    currency: row.currency,
    subtotal: fromCents(row.subtotalCents),
    taxRate: Number(row.taxRate),
    tax: fromCents(row.taxCents),
    total: fromCents(row.totalCents),
    orderedAt: row.orderedAt.toISOString(),
    dueAt: row.dueAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    lines: lines.map((l: InvoiceLineRow) => ({
      productId: l.productId,
      quantity: l.quantity,
      unitPrice: fromCents(l.unitPriceCents),
      lineTotal: fromCents(l.lineTotalCents),
    })),
  };
}

function toParked(row: ParkedMessageRow): ParkedMessage {
  return {
    id: Number(row.id),
    stream: row.stream,
    streamSequence: Number(row.streamSeq),
    subject: row.subject,
    reason: row.reason,
    error: row.error,
    deliveries: row.deliveries,
    payload: row.payload,
    parkedAt: row.parkedAt.toISOString(),
  };
}

export interface ParkInput {
  stream: string;
  streamSeq: number;
  subject: string;
  reason: ParkReason;
  error: string;
  deliveries: number;
  payload: string;
  headers: Record<string, string>;
}

export type RecordOutcome = 'created' | 'duplicate';

const RECORD_INVOICE = `
  WITH invoice AS (
    INSERT INTO invoices (number, order_id, event_id, customer, currency, subtotal_cents, tax_rate, tax_cents,
                          total_cents, ordered_at, due_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (order_id) DO NOTHING
    RETURNING id
  ), lines AS (
    INSERT INTO invoice_lines (invoice_id, product_id, quantity, unit_price_cents, line_total_cents)
    SELECT invoice.id, l.* FROM invoice, unnest($12::int[], $13::int[], $14::bigint[], $15::bigint[]) AS l
  )
  SELECT id FROM invoice`;

export function invoiceService({ sequelize, models }: { sequelize: Sequelize; models: Models }) {
  const { Invoice, InvoiceLine, ParkedMessage } = models;
  const withLines = { include: [{ model: InvoiceLine, as: 'lines' }] };
  return {
    /**
     * Invoice and lines in one statement, so they commit together. ON CONFLICT on the order id makes a redelivery
     * or a duplicate publish a no-op that still reports success, so the caller acks it: without an invoice row
     * the lines' INSERT … SELECT has nothing to insert.
     */
    async record(draft: InvoiceDraft): Promise<RecordOutcome> {
      const inserted = await sequelize.query<{ id: string }>(RECORD_INVOICE, {
        bind: [
          draft.number,
          draft.orderId,
          draft.eventId,
          draft.customer,
          draft.currency,
          draft.subtotalCents,
          draft.taxRate,
          draft.taxCents,
          draft.totalCents,
          draft.orderedAt,
          draft.dueAt,
          draft.lines.map((l) => l.productId),
          draft.lines.map((l) => l.quantity),
          draft.lines.map((l) => l.unitPriceCents),
          draft.lines.map((l) => l.lineTotalCents),
        ],
        type: QueryTypes.SELECT,
      });
      return inserted.length === 0 ? 'duplicate' : 'created';
    },

    async park(input: ParkInput): Promise<void> {
      await sequelize.query(
        `INSERT INTO parked_messages (stream, stream_seq, subject, reason, error, deliveries, payload, headers)
         VALUES (:stream, :streamSeq, :subject, :reason, :error, :deliveries, :payload, :headers)
         ON CONFLICT (stream, stream_seq) DO NOTHING`,
        {
          replacements: {
            ...input,
            error: input.error.slice(0, 2000),
            payload: input.payload.slice(0, 64 * 1024),
            headers: JSON.stringify(input.headers),
          },
        },
      );
    },

    async list(query: { page: number; pageSize: number; orderId?: number | undefined }) {
      const { rows, count } = await Invoice.findAndCountAll({
        ...withLines,
        where: query.orderId === undefined ? {} : { orderId: query.orderId },
        order: [['id', 'DESC']],
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
        distinct: true,
      });
      return {
        items: rows.map((r) => toInvoice(r.get({ plain: true }))),
        page: query.page,
        pageSize: query.pageSize,
        total: count,
      };
    },

    async get(id: number): Promise<Invoice> {
      const row = await Invoice.findByPk(id, withLines);
      if (!row) throw new NotFoundError(`invoice ${id} not found`);
      return toInvoice(row.get({ plain: true }));
    },

    async byOrder(orderId: number): Promise<Invoice> {
      const row = await Invoice.findOne({ ...withLines, where: { orderId } });
      if (!row) throw new NotFoundError(`no invoice for order ${orderId}`);
      return toInvoice(row.get({ plain: true }));
    },

    async parked(query: { page: number; pageSize: number }) {
      const { rows, count } = await ParkedMessage.findAndCountAll({
        order: [['id', 'DESC']],
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
      });
      return {
        items: rows.map((r) => toParked(r.get({ plain: true }))),
        page: query.page,
        pageSize: query.pageSize,
        total: count,
      };
    },

    async parkedCount(): Promise<number> {
      return ParkedMessage.count();
    },
  };
}

export type InvoiceService = ReturnType<typeof invoiceService>;
