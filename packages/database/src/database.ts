import { classifySql, createDatabaseMetrics, type PoolStats } from '@obsdemo/telemetry';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { Sequelize } from 'sequelize';

/** The services' DB_* config keys, so each service passes its validated config as it is. */
export interface DatabaseSettings {
  DB_HOST: string;
  DB_PORT: number;
  DB_NAME: string;
  DB_USER: string;
  DB_PASSWORD: string;
  DB_POOL_MIN: number;
  DB_POOL_MAX: number;
  DB_POOL_ACQUIRE_MS: number;
  DB_POOL_IDLE_MS: number;
}

export interface Database {
  sequelize: Sequelize;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface PoolLike {
  size: number;
  available: number;
  using: number;
  waiting: number;
  maxSize: number;
}

/** sequelize-pool exposes its counters only on the untyped connection manager. */
export function poolStats(connectionManager: unknown): PoolStats {
  const pool = (connectionManager as { pool?: Partial<PoolLike> } | undefined)?.pool;
  return {
    used: pool?.using ?? 0,
    idle: pool?.available ?? 0,
    waiting: pool?.waiting ?? 0,
    max: pool?.maxSize ?? 0,
  };
}

export function openDatabase(
  settings: DatabaseSettings,
  registry: Registry<OpenMetricsContentType>,
): Database {
  const sequelize = new Sequelize({
    dialect: 'postgres',
    host: settings.DB_HOST,
    port: settings.DB_PORT,
    database: settings.DB_NAME,
    username: settings.DB_USER,
    password: settings.DB_PASSWORD,
    logging: false,
    pool: {
      min: settings.DB_POOL_MIN,
      max: settings.DB_POOL_MAX,
      acquire: settings.DB_POOL_ACQUIRE_MS,
      idle: settings.DB_POOL_IDLE_MS,
    },
  });
  const metrics = createDatabaseMetrics(registry, () => poolStats(sequelize.connectionManager));
  sequelize.addHook('afterQuery', (_options, query) => {
    const text = (query as unknown as { sql?: unknown }).sql;
    if (typeof text === 'string') metrics.queriesTotal.inc(classifySql(text));
  });
  return {
    sequelize,
    ping: async () => {
      await sequelize.query('SELECT 1');
    },
    close: () => sequelize.close(),
  };
}
