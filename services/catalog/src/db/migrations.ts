import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { Umzug, type UmzugStorage } from 'umzug';
import { SEED_PRODUCTS } from './seed.js';

interface MigrationContext {
  sequelize: Sequelize;
  transaction: Transaction;
}

const sql =
  (text: string) =>
  async ({ context }: { context: MigrationContext }) => {
    await context.sequelize.query(text, { transaction: context.transaction });
  };

/** Versioned and append-only: a released migration is never edited, a change is a new entry. */
const MIGRATIONS = [
  {
    name: '0001-products',
    up: sql(`
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
    up: sql(`
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
    up: sql(`
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
    up: async ({ context }: { context: MigrationContext }) => {
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

export const MIGRATION_NAMES = MIGRATIONS.map((m) => m.name);

/** Keeps the migration log in the migration's own transaction, so a failed run leaves no half-applied state. */
function transactionalStorage(): UmzugStorage<MigrationContext> {
  const table = 'schema_migrations';
  const ensure = async ({ sequelize, transaction }: MigrationContext) => {
    await sequelize.query(
      `CREATE TABLE IF NOT EXISTS ${table} (name varchar(255) PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      { transaction },
    );
  };
  return {
    async executed({ context }) {
      await ensure(context);
      const rows = await context.sequelize.query<{ name: string }>(
        `SELECT name FROM ${table} ORDER BY name`,
        {
          type: QueryTypes.SELECT,
          transaction: context.transaction,
        },
      );
      return rows.map((r) => r.name);
    },
    async logMigration({ name, context }) {
      await context.sequelize.query(`INSERT INTO ${table} (name) VALUES (:name)`, {
        replacements: { name },
        transaction: context.transaction,
      });
    },
    async unlogMigration({ name, context }) {
      await context.sequelize.query(`DELETE FROM ${table} WHERE name = :name`, {
        replacements: { name },
        transaction: context.transaction,
      });
    },
  };
}

/** Arbitrary constant shared by every replica: only one of them migrates at a time. */
const MIGRATION_LOCK_KEY = 4_815_162_342;

/** Applies pending migrations under an advisory lock; running it again is a no-op. Returns what was applied. */
export async function migrate(sequelize: Sequelize): Promise<string[]> {
  return sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT pg_advisory_xact_lock(:key)', {
      replacements: { key: MIGRATION_LOCK_KEY },
      transaction,
    });
    const umzug = new Umzug<MigrationContext>({
      migrations: MIGRATIONS,
      context: { sequelize, transaction },
      storage: transactionalStorage(),
      logger: undefined,
    });
    const applied = await umzug.up();
    return applied.map((m) => m.name);
  });
}
