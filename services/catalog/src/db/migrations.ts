import { runMigrations, sqlMigration, type Migration } from '@obsdemo/database';
import type { Logger } from '@obsdemo/telemetry';
import type { Sequelize } from 'sequelize';
import { SEED_PRODUCTS } from './seed.js';

/** Versioned and append-only: a released migration is never edited, a change is a new entry. */
const MIGRATIONS: readonly Migration[] = [
  {
    name: '0001-products',
    up: sqlMigration(`
      CREATE TABLE IF NOT EXISTS products (
        id serial PRIMARY KEY,
        sku varchar(32) NOT NULL UNIQUE,
        name varchar(200) NOT NULL,
        description text NOT NULL DEFAULT '',
        category varchar(64) NOT NULL,
        price_cents integer NOT NULL CHECK (price_cents > 0),
        stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS products_category_idx ON products (category, id);`),
  },
  {
    name: '0002-orders',
    up: sqlMigration(`
      CREATE TABLE IF NOT EXISTS orders (
        id serial PRIMARY KEY,
        customer varchar(200) NOT NULL,
        status varchar(32) NOT NULL DEFAULT 'created',
        currency char(3) NOT NULL,
        total_cents bigint NOT NULL CHECK (total_cents >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS order_items (
        id serial PRIMARY KEY,
        order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        product_id integer NOT NULL REFERENCES products (id),
        quantity integer NOT NULL CHECK (quantity > 0),
        unit_price_cents integer NOT NULL CHECK (unit_price_cents > 0)
      );
      CREATE INDEX IF NOT EXISTS order_items_order_idx ON order_items (order_id);`),
  },
  {
    name: '0003-outbox',
    up: sqlMigration(`
      CREATE TABLE IF NOT EXISTS outbox (
        id bigserial PRIMARY KEY,
        msg_id varchar(200) NOT NULL UNIQUE,
        subject varchar(200) NOT NULL,
        payload jsonb NOT NULL,
        trace_context jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
      );
      CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (id) WHERE sent_at IS NULL;`),
  },
  {
    name: '0004-seed-products',
    up: async ({ context }) => {
      for (const p of SEED_PRODUCTS) {
        await context.sequelize.query(
          `INSERT INTO products (sku, name, description, category, price_cents, stock)
           VALUES (:sku, :name, :description, :category, :priceCents, :stock)
           ON CONFLICT (sku) DO NOTHING`,
          { replacements: { ...p }, transaction: context.transaction },
        );
      }
    },
  },
];

/** Arbitrary constant shared by every replica: only one of them migrates at a time. */
const MIGRATION_LOCK_KEY = 4_815_162_342;

/** Applies pending migrations; running it again is a no-op. Returns what was applied. */
export function migrate(sequelize: Sequelize, logger: Logger): Promise<string[]> {
  return runMigrations(sequelize, MIGRATIONS, { lockKey: MIGRATION_LOCK_KEY, logger });
}
