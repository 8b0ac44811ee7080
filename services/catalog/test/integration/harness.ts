import { ORDERS_STREAM } from '@obsdemo/contracts';
import { createLogger } from '@obsdemo/telemetry';
import { parseConfig } from '@obsdemo/service-kit';
import { pollUntil, startNats, startPostgres, type NatsServer, type PostgresServer } from '@obsdemo/testenv';
import { connect, type NatsConnection, type StoredMsg } from 'nats';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { CatalogConfigSchema, type CatalogConfig } from '../../src/config.js';
import { buildCatalog, type Catalog } from '../../src/wiring.js';

export { pollUntil as eventually } from '@obsdemo/testenv';

export interface Dataplane {
  pg: PostgresServer;
  nats: NatsServer;
  stop(): Promise<void>;
}

export async function startDataplane(): Promise<Dataplane> {
  const pg = await startPostgres();
  const nats = await startNats().catch(async (error: unknown) => {
    await pg.stop();
    throw error;
  });
  return {
    pg,
    nats,
    async stop() {
      await nats.dispose();
      await pg.stop();
    },
  };
}

/** The env a deployment would pass, pointed at the test's own Postgres database and NATS. */
export function catalogEnv(
  dp: Dataplane,
  database: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    CATALOG_HOST: '127.0.0.1',
    CATALOG_PORT: '8000',
    DB_HOST: dp.pg.host,
    DB_PORT: String(dp.pg.port),
    DB_NAME: database,
    DB_USER: dp.pg.user,
    DB_PASSWORD: dp.pg.password,
    NATS_URL: dp.nats.url,
    OUTBOX_POLL_MS: '100',
    OUTBOX_PUBLISH_TIMEOUT_MS: '500',
    BODY_LIMIT_BYTES: '4096',
    ...extra,
  };
}

export interface RunningCatalog extends Catalog {
  url: string;
  config: CatalogConfig;
  close(): Promise<void>;
}

/** The real service in-process, listening on a free loopback port. */
export async function startCatalog(
  env: Record<string, string>,
  random?: () => number,
): Promise<RunningCatalog> {
  const config = parseConfig(CatalogConfigSchema, env);
  const catalog = await buildCatalog(config, {
    version: 'test',
    logger: createLogger({ service: 'catalog', stream: new PassThrough(), level: 'error' }),
    random,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = catalog.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  catalog.invalidations.start();
  return {
    ...catalog,
    config,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await catalog.relay.stop();
      await catalog.invalidations.stop();
      await catalog.db.close();
    },
  };
}

/** Every message currently in the ORDERS stream, read by sequence. */
export async function streamMessages(natsUrl: string): Promise<StoredMsg[]> {
  const nc: NatsConnection = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(ORDERS_STREAM);
    const messages: StoredMsg[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      messages.push(await jsm.streams.getMessage(ORDERS_STREAM, { seq }));
    }
    return messages;
  } finally {
    await nc.close();
  }
}

export async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${path}: status ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}

/** A client of the test's database, as the service's own user. */
export async function connectTo(dp: Dataplane, database: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: dp.pg.host,
    port: dp.pg.port,
    user: dp.pg.user,
    password: dp.pg.password,
    database,
  });
  // A test that stops the server ends this connection too; the next query on it then fails visibly.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A metric's value from catalog's /metrics: the first series of that name that has all of `labels`. */
export async function metricValue(
  catalogUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${catalogUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => series.split(',').includes(`${key}="${value}"`))) {
      return Number(match[3]);
    }
  }
  throw new Error(`${name} ${JSON.stringify(labels)} is not in /metrics`);
}

type Answer = Awaited<ReturnType<typeof request>>;

/**
 * Makes catalog write orders together, deterministically. With `productId`'s row locked from the test's own
 * connection, `first` is placed and its transaction waits for the lock; then `next` are placed and wait in catalog
 * (`orders_write_waiting`) for that transaction to end. Releasing the lock lets the first commit and the waiting
 * orders go as one batch (or `release` does something else). Returns the answers in the order given.
 */
export async function placeBehindALock(
  target: { dp: Dataplane; database: string; catalogUrl: string },
  productId: number,
  first: () => Promise<Answer>,
  next: (() => Promise<Answer>)[],
  /** Ends the wait; by default the lock's transaction commits. */
  release: (locker: pg.Client) => Promise<unknown> = (locker) => locker.query('COMMIT'),
): Promise<{ first: Answer; next: Answer[] }> {
  const locker = await connectTo(target.dp, target.database);
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM products WHERE id = $1 FOR UPDATE', [productId]);
    const firstAnswer = first();
    await pollUntil(
      "the first order's transaction waits for the lock",
      async () =>
        (
          await locker.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
            [target.database],
          )
        ).rows[0]?.n,
      (n) => n === 1,
    );
    const nextAnswers = Promise.all(next.map((place) => place()));
    await pollUntil(
      'the next orders wait in catalog',
      () => metricValue(target.catalogUrl, 'orders_write_waiting'),
      (n) => n === next.length,
    );
    await release(locker);
    return { first: await firstAnswer, next: await nextAnswers };
  } finally {
    await locker.end().catch(() => undefined);
  }
}
