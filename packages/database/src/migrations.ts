import type { Logger } from '@obsdemo/telemetry';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { Umzug, type UmzugStorage } from 'umzug';

export interface MigrationContext {
  sequelize: Sequelize;
  transaction: Transaction;
}

export interface Migration {
  name: string;
  up(params: { context: MigrationContext }): Promise<void>;
}

/** A migration that is one SQL script, run in the migration transaction. */
export const sqlMigration =
  (text: string) =>
  async ({ context }: { context: MigrationContext }): Promise<void> => {
    await context.sequelize.query(text, { transaction: context.transaction });
  };

const TABLE = 'schema_migrations';

/** Keeps the migration log in the migration's own transaction, so a failed run leaves no half-applied state. */
function transactionalStorage(): UmzugStorage<MigrationContext> {
  const ensure = async ({ sequelize, transaction }: MigrationContext) => {
    await sequelize.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (name varchar(255) PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      { transaction },
    );
  };
  return {
    async executed({ context }) {
      await ensure(context);
      const rows = await context.sequelize.query<{ name: string }>(
        `SELECT name FROM ${TABLE} ORDER BY name`,
        { type: QueryTypes.SELECT, transaction: context.transaction },
      );
      return rows.map((r) => r.name);
    },
    async logMigration({ name, context }) {
      await context.sequelize.query(`INSERT INTO ${TABLE} (name) VALUES (:name)`, {
        replacements: { name },
        transaction: context.transaction,
      });
    },
    async unlogMigration({ name, context }) {
      await context.sequelize.query(`DELETE FROM ${TABLE} WHERE name = :name`, {
        replacements: { name },
        transaction: context.transaction,
      });
    },
  };
}

export interface MigrationOptions {
  /** pg_advisory_xact_lock key shared by every replica of one service: only one of them migrates at a time. */
  lockKey: number;
  logger: Logger;
}

/**
 * Applies pending migrations in one transaction under an advisory lock; running it again is a no-op.
 * Returns the names of the migrations it applied.
 */
export async function runMigrations(
  sequelize: Sequelize,
  migrations: readonly Migration[],
  { lockKey, logger }: MigrationOptions,
): Promise<string[]> {
  const applied = await sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT pg_advisory_xact_lock(:key)', {
      replacements: { key: lockKey },
      transaction,
    });
    const umzug = new Umzug<MigrationContext>({
      migrations: [...migrations],
      context: { sequelize, transaction },
      storage: transactionalStorage(),
      logger: undefined,
    });
    return (await umzug.up()).map((m) => m.name);
  });
  if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
  return applied;
}
