import { runMigrations, sqlMigration, type Migration } from '@obsdemo/database';
import type { Logger } from '@obsdemo/telemetry';
import type { Sequelize } from 'sequelize';

/** Versioned and append-only: a released migration is never edited, a change is a new entry. */
const MIGRATIONS: readonly Migration[] = [
  {
    name: '0001-jobs',
    up: sqlMigration(`
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

/** Arbitrary constant shared by every replica: only one of them migrates at a time. */
const MIGRATION_LOCK_KEY = 8_001_000_001;

/** Applies pending migrations; running it again is a no-op. Returns what was applied. */
export function migrate(sequelize: Sequelize, logger: Logger): Promise<string[]> {
  return runMigrations(sequelize, MIGRATIONS, { lockKey: MIGRATION_LOCK_KEY, logger });
}
