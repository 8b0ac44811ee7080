import { runMigrations, sqlMigration, type Migration } from '@obsdemo/database';
import type { Logger } from '@obsdemo/telemetry';
import type { Sequelize } from 'sequelize';

/** Versioned and append-only: a released migration is never edited, a change is a new entry. */
const MIGRATIONS: readonly Migration[] = [
  {
    name: '0001-invoices',
    up: sqlMigration(`
      CREATE TABLE IF NOT EXISTS invoices (
        id bigserial PRIMARY KEY,
        number varchar(32) NOT NULL UNIQUE,
        -- One invoice per order: redeliveries and duplicate publishes collapse on this constraint.
        order_id integer NOT NULL UNIQUE,
        event_id uuid NOT NULL,
        customer varchar(200) NOT NULL,
        currency char(3) NOT NULL,
        subtotal_cents bigint NOT NULL CHECK (subtotal_cents >= 0),
        tax_rate numeric(5, 4) NOT NULL,
        tax_cents bigint NOT NULL CHECK (tax_cents >= 0),
        total_cents bigint NOT NULL CHECK (total_cents >= 0),
        ordered_at timestamptz NOT NULL,
        due_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS invoice_lines (
        id bigserial PRIMARY KEY,
        invoice_id bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
        product_id integer NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
        line_total_cents bigint NOT NULL CHECK (line_total_cents >= 0)
      );
      CREATE INDEX IF NOT EXISTS invoice_lines_invoice_idx ON invoice_lines (invoice_id);`),
  },
  {
    name: '0002-parked-messages',
    up: sqlMigration(`
      CREATE TABLE IF NOT EXISTS parked_messages (
        id bigserial PRIMARY KEY,
        stream varchar(64) NOT NULL,
        stream_seq bigint NOT NULL,
        subject varchar(200) NOT NULL,
        reason varchar(32) NOT NULL,
        error text NOT NULL,
        deliveries integer NOT NULL,
        payload text NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        parked_at timestamptz NOT NULL DEFAULT now(),
        -- A message parked again after a crash before its term reached JetStream stays one row.
        UNIQUE (stream, stream_seq)
      );`),
  },
];

/** Arbitrary constant shared by every replica: only one of them migrates at a time. */
const MIGRATION_LOCK_KEY = 8_002_000_001;

/** Applies pending migrations; running it again is a no-op. Returns what was applied. */
export function migrate(sequelize: Sequelize, logger: Logger): Promise<string[]> {
  return runMigrations(sequelize, MIGRATIONS, { lockKey: MIGRATION_LOCK_KEY, logger });
}
