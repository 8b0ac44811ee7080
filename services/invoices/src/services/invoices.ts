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

/**
 * Invoices and their lines in one statement, one row of each array per invoice (lines: one row per line, with its
 * order id). Lines are inserted in the order given, so their ids keep the order's line order.
 */
const RECORD_INVOICES = `
  WITH invoice AS (
    INSERT INTO invoices (number, order_id, event_id, customer, currency, subtotal_cents, tax_rate, tax_cents,
                          total_cents, ordered_at, due_at)
    SELECT * FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::numeric[],
                         $8::bigint[], $9::bigint[], $10::timestamptz[], $11::timestamptz[])
    ON CONFLICT (order_id) DO NOTHING
    RETURNING id, order_id
  ), lines AS (
    INSERT INTO invoice_lines (invoice_id, product_id, quantity, unit_price_cents, line_total_cents)
    SELECT invoice.id, l.product_id, l.quantity, l.unit_price_cents, l.line_total_cents
    FROM unnest($12::int[], $13::int[], $14::int[], $15::bigint[], $16::bigint[]) WITH ORDINALITY
           AS l(order_id, product_id, quantity, unit_price_cents, line_total_cents, n)
    JOIN invoice ON invoice.order_id = l.order_id
    ORDER BY l.n
  )
  SELECT order_id AS "orderId" FROM invoice`;

export function invoiceService({ sequelize, models }: { sequelize: Sequelize; models: Models }) {
  const { Invoice, InvoiceLine, ParkedMessage } = models;
  const withLines = { include: [{ model: InvoiceLine, as: 'lines' }] };
  /**
   * Several invoices in one statement (one commit for a fetched batch), each outcome in the order given. An
   * order that appears twice is written once: the later copies are duplicates, as a redelivery would be.
   */
  async function recordMany(drafts: readonly InvoiceDraft[]): Promise<RecordOutcome[]> {
    const first = new Map<number, InvoiceDraft>();
    for (const d of drafts) if (!first.has(d.orderId)) first.set(d.orderId, d);
    // In order id order, so two replicas writing overlapping batches (redeliveries) take the rows' locks in the
    // same order and cannot deadlock.
    const unique = [...first.values()].sort((a, b) => a.orderId - b.orderId);
    const lines = unique.flatMap((d) => d.lines.map((l) => ({ orderId: d.orderId, ...l })));
    const inserted = await sequelize.query<{ orderId: number }>(RECORD_INVOICES, {
      bind: [
        unique.map((d) => d.number),
        unique.map((d) => d.orderId),
        unique.map((d) => d.eventId),
        unique.map((d) => d.customer),
        unique.map((d) => d.currency),
        unique.map((d) => d.subtotalCents),
        unique.map((d) => d.taxRate),
        unique.map((d) => d.taxCents),
        unique.map((d) => d.totalCents),
        unique.map((d) => d.orderedAt.toISOString()),
        unique.map((d) => d.dueAt.toISOString()),
        lines.map((l) => l.orderId),
        lines.map((l) => l.productId),
        lines.map((l) => l.quantity),
        lines.map((l) => l.unitPriceCents),
        lines.map((l) => l.lineTotalCents),
      ],
      type: QueryTypes.SELECT,
    });
    const created = new Set(inserted.map((r) => Number(r.orderId)));
    return drafts.map((d) =>
      first.get(d.orderId) === d && created.has(d.orderId) ? 'created' : 'duplicate',
    );
  }

  return {
    /**
     * Invoice and lines in one statement, so they commit together. ON CONFLICT on the order id makes a redelivery
     * or a duplicate publish a no-op that still reports success, so the caller acks it: without an invoice row
     * the lines' INSERT … SELECT has nothing to insert.
     */
    async record(draft: InvoiceDraft): Promise<RecordOutcome> {
      const [outcome] = await recordMany([draft]);
      if (outcome === undefined) throw new Error('recordMany returned no outcome');
      return outcome;
    },

    recordMany,

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
