import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openDatabase, type Database } from '@obsdemo/database';
import { createLogger, createRegistry } from '@obsdemo/telemetry';
import { startPostgres, type PostgresServer } from '@obsdemo/testenv';
import { PassThrough } from 'node:stream';
import { QueryTypes } from 'sequelize';
import { migrate } from '../../src/db/migrations.js';
import { defineModels } from '../../src/db/models.js';
import { computeInvoice } from '../../src/domain/invoice.js';
import { invoiceService, type InvoiceService } from '../../src/services/invoices.js';

let server: PostgresServer;
let db: Database;
let invoices: InvoiceService;

beforeAll(async () => {
  server = await startPostgres();
  await server.createDatabase('record_many');
  db = openDatabase(
    {
      DB_HOST: server.host,
      DB_PORT: server.port,
      DB_NAME: 'record_many',
      DB_USER: server.user,
      DB_PASSWORD: server.password,
      DB_POOL_MIN: 0,
      DB_POOL_MAX: 2,
      DB_POOL_ACQUIRE_MS: 10_000,
      DB_POOL_IDLE_MS: 10_000,
      DB_QUERY_TIMEOUT_MS: 10_000,
      DB_CONNECT_TIMEOUT_MS: 5_000,
    },
    createRegistry('invoices', { defaultMetrics: false }),
  );
  await migrate(
    db.sequelize,
    createLogger({ service: 'invoices', stream: new PassThrough(), level: 'error' }),
  );
  invoices = invoiceService({ sequelize: db.sequelize, models: defineModels(db.sequelize) });
});

afterAll(async () => {
  await db?.close();
  await server?.stop();
});

const terms = { taxRate: 0.2, paymentTermsDays: 30 };
const draft = (orderId: number, items: { productId: number; quantity: number; unitPrice: number }[]) =>
  computeInvoice(
    {
      schemaVersion: 1,
      eventId: `00000000-0000-4000-8000-${String(orderId).padStart(12, '0')}`,
      orderId,
      occurredAt: '2026-12-06T10:00:00.000Z',
      // Characters that need escaping inside a Postgres array literal, and a quote.
      customer: `customer "${orderId}" \\ {a,b} '`,
      items,
      total: items.reduce((sum, i) => sum + i.unitPrice * i.quantity, 0),
      currency: 'EUR',
    },
    terms,
  );

describe('invoiceService.recordMany against real Postgres', () => {
  it('writes several invoices with their lines in one statement; an order already invoiced or repeated is a duplicate', async () => {
    expect(await invoices.record(draft(4, [{ productId: 9, quantity: 1, unitPrice: 5 }]))).toBe('created');
    const three = [
      { productId: 7, quantity: 2, unitPrice: 1.5 },
      { productId: 3, quantity: 1, unitPrice: 10 },
      { productId: 5, quantity: 4, unitPrice: 0.25 },
    ];
    const outcomes = await invoices.recordMany([
      draft(1, three),
      draft(2, [{ productId: 1, quantity: 1, unitPrice: 2 }]),
      draft(1, three),
      draft(4, [{ productId: 9, quantity: 1, unitPrice: 5 }]),
      draft(3, [{ productId: 2, quantity: 3, unitPrice: 1 }]),
    ]);
    expect(outcomes).toEqual(['created', 'created', 'duplicate', 'duplicate', 'created']);

    const counts = await db.sequelize.query<{ invoices: string; lines: string }>(
      'SELECT (SELECT count(*) FROM invoices) AS invoices, (SELECT count(*) FROM invoice_lines) AS lines',
      { type: QueryTypes.SELECT, plain: true },
    );
    // Orders 1 (3 lines), 2, 3 and 4 (1 line each): nothing written twice.
    expect(counts).toEqual({ invoices: '4', lines: '6' });

    // Each invoice as the API returns it: numbers, totals, dates and its lines in the order's line order.
    const one = await invoices.byOrder(1);
    expect(one).toMatchObject({
      number: 'INV-00000001',
      eventId: '00000000-0000-4000-8000-000000000001',
      customer: `customer "1" \\ {a,b} '`,
      currency: 'EUR',
      subtotal: 14,
      taxRate: 0.2,
      tax: 2.8,
      total: 16.8,
      orderedAt: '2026-12-06T10:00:00.000Z',
      dueAt: '2027-01-05T10:00:00.000Z',
    });
    expect(one.lines).toEqual([
      { productId: 7, quantity: 2, unitPrice: 1.5, lineTotal: 3 },
      { productId: 3, quantity: 1, unitPrice: 10, lineTotal: 10 },
      { productId: 5, quantity: 4, unitPrice: 0.25, lineTotal: 1 },
    ]);
    expect((await invoices.byOrder(3)).lines).toEqual([
      { productId: 2, quantity: 3, unitPrice: 1, lineTotal: 3 },
    ]);
  });

  it('writes nothing when one invoice of the batch is refused by the database', async () => {
    const before = await invoices.list({ page: 1, pageSize: 100 });
    // A negative quantity breaks invoice_lines' CHECK: the whole statement, other invoices included, is undone.
    await expect(
      invoices.recordMany([
        draft(10, [{ productId: 1, quantity: 1, unitPrice: 1 }]),
        {
          ...draft(11, [{ productId: 1, quantity: 1, unitPrice: 1 }]),
          lines: [{ productId: 1, quantity: -1, unitPriceCents: 100, lineTotalCents: 0 }],
        },
      ]),
    ).rejects.toThrow(/check constraint/);
    expect((await invoices.list({ page: 1, pageSize: 100 })).total).toBe(before.total);
  });
});
