import { createDatabaseMetrics, sqlClassifier, type PoolStats } from '@obsdemo/telemetry';
import type { DependencyFailure } from '@obsdemo/service-kit';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { ConnectionError, DatabaseError, Sequelize } from 'sequelize';

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
  /**
   * How long a statement may wait for Postgres's answer before it fails and its connection is dropped from the pool
   * (node-postgres' query_timeout). A server that went away without closing its sockets (a replaced pod: its address
   * no longer answers, nothing resets the connection) would otherwise hold every pooled connection until the
   * kernel gives up on them, minutes later.
   */
  DB_QUERY_TIMEOUT_MS: number;
  /** How long opening a connection may take (node-postgres' connectionTimeoutMillis). */
  DB_CONNECT_TIMEOUT_MS: number;
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

/**
 * SQLSTATE class 08 (connection exception), 53300 (too many connections) and 57P01-57P03 (the server is shutting
 * down, crashed or still starting): the database is there but cannot serve us right now.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53300|57P0[123])$/;

/**
 * Raised by node-postgres, without a SQLSTATE, when the socket under a running query goes away or stops answering
 * (`Query read timeout`: DB_QUERY_TIMEOUT_MS passed; Sequelize then drops that connection from the pool).
 */
const DROPPED_CONNECTION =
  /Connection terminated|connection is closed|Client has encountered a connection error|Query read timeout/i;

/**
 * True when a Sequelize error means Postgres cannot be reached (refused, dropped, timed out, pool acquire timeout,
 * restarting), as opposed to a problem with the query itself: the first is worth retrying, the second is not.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  if (!(err instanceof DatabaseError)) return false;
  const code = (err.parent as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code)) return true;
  return DROPPED_CONNECTION.test(err.parent.message);
}

/** For `serviceApp({ dependencyFailures })`: Postgres being down answers 503 with Retry-After, not 500. */
export const POSTGRES_UNAVAILABLE: DependencyFailure = {
  dependency: 'postgres',
  matches: isDatabaseUnavailable,
};

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
    dialectOptions: {
      keepAlive: true,
      query_timeout: settings.DB_QUERY_TIMEOUT_MS,
      connectionTimeoutMillis: settings.DB_CONNECT_TIMEOUT_MS,
    },
    pool: {
      min: settings.DB_POOL_MIN,
      max: settings.DB_POOL_MAX,
      acquire: settings.DB_POOL_ACQUIRE_MS,
      idle: settings.DB_POOL_IDLE_MS,
    },
  });
  const metrics = createDatabaseMetrics(registry, () => poolStats(sequelize.connectionManager));
  const classifySql = sqlClassifier();
  // Sequelize runs both hooks around each statement on the same query object.
  const started = new WeakMap<object, number>();
  sequelize.addHook('beforeQuery', (_options, query) => {
    started.set(query as object, performance.now());
  });
  sequelize.addHook('afterQuery', (_options, query) => {
    const text = (query as unknown as { sql?: unknown }).sql;
    if (typeof text !== 'string') return;
    const labels = classifySql(text);
    metrics.queriesTotal.inc(labels);
    const start = started.get(query as object);
    if (start !== undefined) metrics.queryDuration.observe(labels, (performance.now() - start) / 1000);
  });
  return {
    sequelize,
    ping: async () => {
      await sequelize.query('SELECT 1');
    },
    close: () => sequelize.close(),
  };
}
