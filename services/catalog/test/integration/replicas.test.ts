import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { decodeOrderCreated, ORDER_CREATED_SUBJECT } from '@obsdemo/contracts';
import { startServiceProcess, type ServiceProcess } from '@obsdemo/testenv';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  catalogEnv,
  eventually,
  request,
  startDataplane,
  streamMessages,
  type Dataplane,
} from './harness.js';

/**
 * Two real catalog processes on one Postgres database and one NATS server, as two replicas of one Deployment run
 * them: each with its own outbox relay polling the shared outbox and its own read cache. The relays compete for
 * rows (FOR UPDATE SKIP LOCKED); JetStream's Nats-Msg-Id dedupe is the second line, so the counters below prove
 * the first line held: no row was even sent twice.
 */

const catalogDir = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = join(catalogDir, '..', '..');
const DATABASE = 'catalog_replicas';
const ORDERS_PER_REPLICA = 40;

let dp: Dataplane;
let a: ServiceProcess;
let b: ServiceProcess;
let db: pg.Client;

function startReplica(): Promise<ServiceProcess> {
  return startServiceProcess({
    service: 'catalog',
    // Small batches and a short poll make the two relays claim rows in the same moments.
    env: catalogEnv(dp, DATABASE, { LOG_LEVEL: 'warn', OUTBOX_BATCH_SIZE: '3', OUTBOX_POLL_MS: '20' }),
    portEnv: 'CATALOG_PORT',
    nodeArgs: ['--import', '@obsdemo/telemetry/register'],
  });
}

beforeAll(async () => {
  // The replicas run the compiled service exactly as the container does, so make sure dist/ is current.
  execFileSync(process.execPath, [
    join(repoRoot, 'node_modules/typescript/bin/tsc'),
    '-b',
    join(catalogDir, 'tsconfig.json'),
  ]);
  dp = await startDataplane();
  await dp.pg.createDatabase(DATABASE);
  // One at a time: the first runs the migrations and the seed, the second finds them done.
  a = await startReplica();
  b = await startReplica();
  db = new pg.Client({
    host: dp.pg.host,
    port: dp.pg.port,
    user: dp.pg.user,
    password: dp.pg.password,
    database: DATABASE,
  });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await a?.stop();
  await b?.stop();
  await dp?.stop();
});

/** Sum of the samples of `name` whose labels include `labels`. */
async function metric(
  replica: ServiceProcess,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const pairs = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => pairs.includes(`${k}="${v}"`))) total += Number(match[3]);
  }
  return total;
}

const published = (r: ServiceProcess, outcome: string) =>
  metric(r, 'outbox_events_published_total', { subject: ORDER_CREATED_SUBJECT, outcome });

/** Places `count` orders through `replica`, four in flight at a time. */
async function burst(replica: ServiceProcess, count: number, tag: string): Promise<number[]> {
  const ids: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await request(replica.url, 'POST', '/orders', {
        customer: `${tag}-${i}`,
        items: [{ productId: 1 + (i % 5), quantity: 1 }],
      });
      expect(res.status).toBe(201);
      ids.push(res.body['id'] as number);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return ids;
}

describe('two catalog replicas', () => {
  it('publish a burst of orders placed through both exactly once, with both relays running', async () => {
    const [throughA, throughB] = await Promise.all([
      burst(a, ORDERS_PER_REPLICA, 'a'),
      burst(b, ORDERS_PER_REPLICA, 'b'),
    ]);
    const placed = [...throughA, ...throughB].sort((x, y) => x - y);
    expect(new Set(placed).size).toBe(2 * ORDERS_PER_REPLICA);

    await eventually(
      'both relays drain the shared outbox',
      async () =>
        (await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL')).rows,
      (rows) => rows[0]?.n === '0',
    );

    const { rows } = await db.query<{ id: number }>('SELECT id FROM orders ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(placed);

    const messages = await streamMessages(dp.nats.url);
    const msgIds = messages.map((m) => {
      expect(m.subject).toBe(ORDER_CREATED_SUBJECT);
      const msgId = m.header.get('Nats-Msg-Id');
      expect(msgId).toBe(String(decodeOrderCreated(m.data).orderId));
      return Number(msgId);
    });
    // One message per order: none missing, none twice.
    expect(msgIds.length).toBe(placed.length);
    expect([...msgIds].sort((x, y) => x - y)).toEqual(placed);

    // Each row was sent by one relay only: the publishes of both add up to the orders, and JetStream never had
    // to drop a duplicate.
    const [publishedA, publishedB] = await Promise.all([
      published(a, 'published'),
      published(b, 'published'),
    ]);
    expect(publishedA + publishedB).toBe(placed.length);
    expect((await published(a, 'duplicate')) + (await published(b, 'duplicate'))).toBe(0);
  });

  it('show a price changed through replica A on replica B, which had the product cached', async () => {
    const path = '/products/2';
    const before = await request(b.url, 'GET', path);
    expect(before.status).toBe(200);
    // A second read, now from B's cache.
    const hitsBefore = await metric(b, 'cache_requests_total', { result: 'hit' });
    expect((await request(b.url, 'GET', path)).body['price']).toBe(before.body['price']);
    expect(await metric(b, 'cache_requests_total', { result: 'hit' })).toBe(hitsBefore + 1);

    const newPrice = Number(before.body['price']) + 7.25;
    const patched = await request(a.url, 'PATCH', path, { price: newPrice });
    expect(patched.status).toBe(200);
    expect(patched.body['price']).toBe(newPrice);

    // B's cache TTL (60 s by default) is far beyond this wait: B serves the new price because A's invalidation
    // reached it.
    await eventually(
      'replica B serves the new price',
      async () => (await request(b.url, 'GET', path)).body['price'],
      (price) => price === newPrice,
    );
  });
});
