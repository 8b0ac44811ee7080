import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createLogger, createRegistry } from '@obsdemo/telemetry';
import { startPostgres, type PostgresServer } from '@obsdemo/testenv';
import { PassThrough } from 'node:stream';
import { QueryTypes } from 'sequelize';
import {
  isDatabaseUnavailable,
  openDatabase,
  runMigrations,
  sqlMigration,
  type Database,
  type DatabaseSettings,
  type Migration,
} from '../../src/index.js';

let pg: PostgresServer;
const opened: Database[] = [];

beforeAll(async () => {
  pg = await startPostgres();
});

afterAll(async () => {
  for (const db of opened) await db.close();
  await pg?.stop();
});

async function open(name: string, overrides: Partial<DatabaseSettings> = {}) {
  const registry = createRegistry('dbtest');
  const db = openDatabase(
    {
      DB_HOST: pg.host,
      DB_PORT: pg.port,
      DB_NAME: name,
      DB_USER: pg.user,
      DB_PASSWORD: pg.password,
      DB_POOL_MIN: 0,
      DB_POOL_MAX: 4,
      DB_POOL_ACQUIRE_MS: 10_000,
      DB_POOL_IDLE_MS: 10_000,
      DB_QUERY_TIMEOUT_MS: 10_000,
      DB_CONNECT_TIMEOUT_MS: 5_000,
      ...overrides,
    },
    registry,
  );
  opened.push(db);
  return { db, registry };
}

function capturingLogger() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').trim().split('\n')));
  return { logger: createLogger({ service: 'dbtest', stream }), lines };
}

const tables = async (db: Database) =>
  (
    await db.sequelize.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
      { type: QueryTypes.SELECT },
    )
  ).map((r) => r.name);

const MIGRATIONS: Migration[] = [
  { name: '0001-a', up: sqlMigration('CREATE TABLE a (id integer PRIMARY KEY)') },
  { name: '0002-b', up: sqlMigration('CREATE TABLE b (id integer PRIMARY KEY)') },
];

describe('openDatabase', () => {
  it('answers ping and counts its queries by operation and table', async () => {
    await pg.createDatabase('db_ping');
    const { db, registry } = await open('db_ping');
    await db.ping();
    await db.sequelize.query('CREATE TABLE pinged (id integer)');
    await db.sequelize.query('SELECT id FROM pinged');
    const text = await registry.metrics();
    expect(text).toMatch(/database_queries_total\{operation="select",table="pinged"[^}]*\} 1/);
    expect(text).toMatch(/database_queries_total\{operation="create",table="none"[^}]*\} 1/);
  });
  it('fails a statement Postgres does not answer within DB_QUERY_TIMEOUT_MS as unavailable, and drops its connection', async () => {
    await pg.createDatabase('db_timeout');
    // One connection: the next statement can only run if the stuck one was taken out of the pool.
    const { db } = await open('db_timeout', { DB_POOL_MAX: 1, DB_QUERY_TIMEOUT_MS: 300 });
    const pid = async () =>
      (
        await db.sequelize.query<{ pid: number }>('SELECT pg_backend_pid() AS pid', {
          type: QueryTypes.SELECT,
        })
      )[0]?.pid;
    const before = await pid();
    // What a replaced Postgres pod looks like from here: a statement with no answer.
    const stuck = await db.sequelize.query('SELECT pg_sleep(5)').catch((error: unknown) => error);
    expect(isDatabaseUnavailable(stuck)).toBe(true);
    // Served on a new connection, not on the stuck one once its statement ends.
    const after = await pid();
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });
});

describe('runMigrations', () => {
  it('applies pending migrations once, logs them, and is a no-op the second time', async () => {
    await pg.createDatabase('db_migrate');
    const { db } = await open('db_migrate');
    const { logger, lines } = capturingLogger();
    expect(await runMigrations(db.sequelize, MIGRATIONS, { lockKey: 1, logger })).toEqual([
      '0001-a',
      '0002-b',
    ]);
    expect(await runMigrations(db.sequelize, MIGRATIONS, { lockKey: 1, logger })).toEqual([]);
    const third: Migration = { name: '0003-c', up: sqlMigration('CREATE TABLE c (id integer)') };
    expect(await runMigrations(db.sequelize, [...MIGRATIONS, third], { lockKey: 1, logger })).toEqual([
      '0003-c',
    ]);
    expect(await tables(db)).toEqual(['a', 'b', 'c', 'schema_migrations']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.includes('"message":"migrations applied"'))).toHaveLength(2);
  });

  it('leaves nothing behind when a migration fails', async () => {
    await pg.createDatabase('db_failing');
    const { db } = await open('db_failing');
    const { logger } = capturingLogger();
    const broken: Migration = { name: '0003-broken', up: sqlMigration('CREATE TABLE a (id integer)') };
    await expect(
      runMigrations(db.sequelize, [...MIGRATIONS, broken], { lockKey: 2, logger }),
    ).rejects.toThrow(/0003-broken/);
    expect(await tables(db)).toEqual([]);
  });

  it('lets concurrent runners apply each migration exactly once', async () => {
    await pg.createDatabase('db_concurrent');
    const runners = await Promise.all([open('db_concurrent'), open('db_concurrent'), open('db_concurrent')]);
    const { logger } = capturingLogger();
    const results = await Promise.all(
      runners.map(({ db }) => runMigrations(db.sequelize, MIGRATIONS, { lockKey: 3, logger })),
    );
    expect(results.flat().sort()).toEqual(['0001-a', '0002-b']);
  });
});
