export {
  POSTGRES_UNAVAILABLE,
  isDatabaseUnavailable,
  openDatabase,
  type Database,
  type DatabaseSettings,
} from './database.js';
export {
  runMigrations,
  sqlMigration,
  type Migration,
  type MigrationContext,
  type MigrationOptions,
} from './migrations.js';
