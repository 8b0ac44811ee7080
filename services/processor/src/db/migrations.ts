import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { Umzug, type UmzugStorage } from 'umzug';

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
    name: '0001-jobs',
    up: sql(`
      CREATE TABLE IF NOT EXISTS jobs (
        id uuid PRIMARY KEY,
        type varchar(64) NOT NULL,
        status varchar(16) NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
        payload jsonb NOT NULL,
        result jsonb,
        error text,
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL CHECK (max_attempts > 0),
        run_after timestamptz NOT NULL DEFAULT now(),
        -- The lease: a running job whose locked_until has passed belongs to whichever worker claims it next.
        locked_by varchar(100),
        locked_until timestamptz,
        trace_context jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
      CREATE INDEX IF NOT EXISTS jobs_runnable_idx ON jobs (run_after) WHERE status = 'queued';
      CREATE INDEX IF NOT EXISTS jobs_leased_idx ON jobs (locked_until) WHERE status = 'running';
      CREATE INDEX IF NOT EXISTS jobs_created_idx ON jobs (created_at DESC);`),
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
        { type: QueryTypes.SELECT, transaction: context.transaction },
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
const MIGRATION_LOCK_KEY = 8_001_000_001;

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
