// Event pipeline orders → invoices with the built services (`npx tsc -b tsconfig.build.json` first): real
// catalog and invoices processes (telemetry on, exporting to a local OTLP sink), real PostgreSQL and JetStream.
//  - live: N orders are placed through catalog's HTTP API at a bounded concurrency while invoices consumes;
//    events/s end to end and per-order latency = invoice created_at − order created_at (both timestamps come
//    from the same machine's clock);
//  - drain: invoices is stopped, N more orders are placed and published, then invoices starts and works off the
//    backlog, which measures the consumer alone.
// Both phases check that every order has exactly one invoice and nothing was parked.
//  - paced: orders at a fixed rate below capacity (open loop), for the latency when nothing queues up;
//  - near capacity: orders paced at 80 % of the rate the live phase reached, for `--near-capacity-seconds`
//    (open loop: latency counts from when each order was due, so a queue shows).
// Usage: node bench/pipeline.ts [--orders 3000] [--concurrency 32] [--paced-rate 50] [--paced-orders 1000]
//        [--near-capacity-seconds 10] [--profile-dir DIR] [--out FILE]
// With --profile-dir both services run under `node --cpu-prof` and write their profiles there on exit.
import {
  startNats,
  startPostgres,
  startServiceProcess,
  type NatsServer,
  type PostgresServer,
  type ServiceProcess,
} from '@obsdemo/testenv';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { describeLoad, loadBefore } from './machine.ts';
import { metric } from './scrape.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '32' },
    'paced-rate': { type: 'string', default: '50' },
    'paced-orders': { type: 'string', default: '1000' },
    'near-capacity-seconds': { type: 'string', default: '10' },
    'profile-dir': { type: 'string' },
    out: { type: 'string', default: join(repoRoot, '.tmp/bench/pipeline.json') },
  },
});
const ORDERS = Number(args.orders);
const CONCURRENCY = Number(args.concurrency);
const PACED_RATE = Number(args['paced-rate']);
const PACED_ORDERS = Number(args['paced-orders']);
const NEAR_CAPACITY_SECONDS = Number(args['near-capacity-seconds']);
if (!(NEAR_CAPACITY_SECONDS > 0)) {
  console.error(`--near-capacity-seconds must be a number above 0, not ${args['near-capacity-seconds']}`);
  process.exit(2);
}
/** The share of the live phase's rate the near-capacity phase is paced at. */
const NEAR_CAPACITY_SHARE = 0.8;
// Absolute: the services run with their workspace as the working directory.
const PROFILE_DIR = args['profile-dir'] === undefined ? undefined : resolve(args['profile-dir']);
const PRODUCTS = 12;

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** The pid listening on a loopback port, to read a service's CPU time from /proc. */
function pidOnPort(port: number): number {
  const match = /pid=(\d+)/.exec(execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' }));
  if (!match?.[1]) throw new Error(`no process listens on port ${port}`);
  return Number(match[1]);
}

/** Fields of /proc/<pid>/stat after the command name (field 3 onwards). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * User + system CPU seconds used so far by a process and its children (PostgreSQL's backends are children of
 * the postmaster): per order, this does not depend on how much of the shared machine the other work left us.
 */
function cpuSeconds(pid: number): number {
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((child) => {
      try {
        return Number(statFields(child)[1]) === pid;
      } catch {
        return false; // exited while we looked
      }
    });
  return [pid, ...children].reduce((total, p) => {
    try {
      const fields = statFields(p);
      return total + (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return total;
    }
  }, 0);
}

/** CPU milliseconds per order each process spent while `run` ran. */
async function cpuPerOrder<T>(
  pids: Record<string, number>,
  orders: number,
  run: () => Promise<T>,
): Promise<{ value: T; cpuMsPerOrder: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const value = await run();
  const cpuMsPerOrder = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, ((cpuSeconds(pid) - (before[k] ?? 0)) * 1000) / orders]),
  );
  return { value, cpuMsPerOrder };
}

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup(): Promise<void> {
  for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => console.error(String(error)));
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function placeOrder(catalogUrl: string, n: number): Promise<number> {
  const res = await fetch(`${catalogUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: `bench-${n}`,
      items: [{ productId: (n % PRODUCTS) + 1, quantity: 1 }],
    }),
  });
  const body = (await res.json()) as { id?: number };
  if (res.status !== 201 || typeof body.id !== 'number') {
    throw new Error(`POST /orders → ${res.status}: ${JSON.stringify(body)}`);
  }
  return body.id;
}

/** Places `count` orders with at most CONCURRENCY in flight; returns the ids and the wall time it took. */
async function placeOrders(catalogUrl: string, count: number): Promise<{ ids: number[]; seconds: number }> {
  const ids: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) ids.push(await placeOrder(catalogUrl, next++));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ids, seconds: (performance.now() - started) / 1000 };
}

/** Places `count` orders at `rate` per second whatever the answers take (an open loop, like real clients). */
async function placeOrdersAtRate(
  catalogUrl: string,
  count: number,
  rate: number,
): Promise<{ ids: number[]; seconds: number; dueAt: Map<number, number> }> {
  const started = performance.now();
  const pending: Promise<number>[] = [];
  const due: number[] = [];
  for (let n = 0; n < count; n++) {
    due.push(started + (n * 1000) / rate);
    const wait = (due[n] ?? 0) - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(placeOrder(catalogUrl, n));
  }
  const ids = await Promise.all(pending);
  // Wall-clock time each order was due, to compare with the invoices' created_at (same machine, same clock).
  const dueAt = new Map(ids.map((id, n) => [id, performance.timeOrigin + (due[n] ?? NaN)]));
  return { ids, seconds: (performance.now() - started) / 1000, dueAt };
}

async function waitForInvoices(invoicesDb: string, total: number, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await query<{ n: string }>(invoicesDb, 'SELECT count(*) AS n FROM invoices');
    if (Number(row?.n) >= total) return;
    if (Date.now() > deadline) throw new Error(`only ${row?.n} of ${total} invoices after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/**
 * Samples what the services' Postgres sessions are doing every 50 ms (pg_stat_activity), to tell lock and
 * commit waits from CPU work when the pipeline is slower than its target.
 */
function sampleWaits(url: string): { stop(): Promise<Record<string, number>> } {
  const counts = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      while (running) {
        const { rows } = await client.query<{ datname: string; what: string }>(
          `SELECT datname, CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU')
                                ELSE state END AS what
             FROM pg_stat_activity WHERE datname IN ('catalog', 'invoices') AND pid <> pg_backend_pid()`,
        );
        for (const r of rows)
          counts.set(`${r.datname} ${r.what}`, (counts.get(`${r.datname} ${r.what}`) ?? 0) + 1);
        await sleep(50);
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
    },
  };
}

interface PhaseResult {
  orders: number;
  /** Orders per second catalog accepted over HTTP. */
  intakePerS: number;
  /** Invoices per second from the first order's creation to the last invoice. */
  eventsPerS: number;
  latencyMs?: { p50: number; p95: number; p99: number; max: number };
  invoices: number;
  duplicates: number;
  parked: number;
}

/** catalog's `orders_write_batch_size` histogram so far: transactions written and the orders they handled. */
async function writeBatches(catalogUrl: string): Promise<{ transactions: number; orders: number }> {
  return {
    transactions: await metric(catalogUrl, 'orders_write_batch_size_count', {}, { required: true }),
    orders: await metric(catalogUrl, 'orders_write_batch_size_sum', {}, { required: true }),
  };
}

/** Orders per committed transaction between two readings of writeBatches; undefined when none was written. */
const ordersPerTransaction = (
  before: { transactions: number; orders: number },
  after: { transactions: number; orders: number },
): number | undefined =>
  after.transactions > before.transactions
    ? (after.orders - before.orders) / (after.transactions - before.transactions)
    : undefined;

/** Joins catalog's orders with invoices' invoices for `ids` and checks one invoice per order. */
async function measure(
  catalogDb: string,
  invoicesDb: string,
  ids: number[],
  intakeSeconds: number,
  withLatency: boolean,
  /** When each order was due to be sent (open loop); latency then counts from there, not from its created_at. */
  dueAt?: Map<number, number>,
): Promise<PhaseResult> {
  const orders = await query<{ id: number; created_at: Date }>(
    catalogDb,
    'SELECT id, created_at FROM orders WHERE id = ANY($1)',
    [ids],
  );
  const invoices = await query<{ order_id: number; created_at: Date }>(
    invoicesDb,
    'SELECT order_id, created_at FROM invoices WHERE order_id = ANY($1)',
    [ids],
  );
  const [parked] = await query<{ n: string }>(invoicesDb, 'SELECT count(*) AS n FROM parked_messages');
  const orderedAt = new Map(orders.map((o) => [o.id, o.created_at.getTime()]));
  const invoiced = new Set(invoices.map((i) => i.order_id));
  const firstOrder = Math.min(...orderedAt.values());
  const lastInvoice = Math.max(...invoices.map((i) => i.created_at.getTime()));
  const firstInvoice = Math.min(...invoices.map((i) => i.created_at.getTime()));
  const latencies = invoices
    .map((i) => i.created_at.getTime() - (dueAt?.get(i.order_id) ?? orderedAt.get(i.order_id) ?? NaN))
    .sort((a, b) => a - b);
  // In the drain phase the clock starts with the first invoice: the backlog was already there.
  const spanMs = withLatency ? lastInvoice - firstOrder : lastInvoice - firstInvoice;
  return {
    orders: ids.length,
    intakePerS: ids.length / intakeSeconds,
    eventsPerS: invoices.length / (spanMs / 1000),
    ...(withLatency
      ? {
          latencyMs: {
            p50: percentile(latencies, 50),
            p95: percentile(latencies, 95),
            p99: percentile(latencies, 99),
            max: latencies.at(-1) ?? NaN,
          },
        }
      : {}),
    invoices: invoiced.size,
    duplicates: invoices.length - invoiced.size,
    parked: Number(parked?.n),
  };
}

async function main(): Promise<void> {
  const machine = loadBefore();
  console.log(describeLoad(machine));
  const pgServer: PostgresServer = await startPostgres();
  cleanups.push(() => pgServer.stop());
  const nats: NatsServer = await startNats();
  cleanups.push(() => nats.dispose());
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => sink.close(resolve)));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

  const catalogDb = await pgServer.createDatabase('catalog');
  const invoicesDb = await pgServer.createDatabase('invoices');
  const db = (name: string) => ({
    DB_HOST: pgServer.host,
    DB_PORT: String(pgServer.port),
    DB_NAME: name,
    DB_USER: pgServer.user,
    DB_PASSWORD: pgServer.password,
  });
  if (PROFILE_DIR !== undefined) mkdirSync(PROFILE_DIR, { recursive: true });
  const nodeArgs = (name: string) => [
    ...(PROFILE_DIR === undefined
      ? []
      : // One folder per process: each thread (the loader hooks have their own) writes a profile there.
        ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, `pipeline-${name}`)}`]),
    '--import',
    '@obsdemo/telemetry/register',
  ];
  // The services' own defaults (outbox poll, batch sizes, pool sizes): the pipeline as deployed.
  const common = { NATS_URL: nats.url, LOG_LEVEL: 'warn', OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl };
  const catalog: ServiceProcess = await startServiceProcess({
    service: 'catalog',
    portEnv: 'CATALOG_PORT',
    nodeArgs: nodeArgs('catalog'),
    env: { CATALOG_HOST: '127.0.0.1', ...db('catalog'), ...common, OTEL_SERVICE_NAME: 'catalog' },
  });
  cleanups.push(() => catalog.stop());
  const invoices: ServiceProcess = await startServiceProcess({
    service: 'invoices',
    portEnv: 'INVOICES_PORT',
    nodeArgs: nodeArgs('invoices'),
    env: { INVOICES_HOST: '127.0.0.1', ...db('invoices'), ...common, OTEL_SERVICE_NAME: 'invoices' },
  });
  cleanups.push(() => invoices.stop());
  // The seed has 1,000 of each product; the benchmark needs more than that.
  await query(catalogDb, 'UPDATE products SET stock = 10000000');

  console.log('warm-up: 100 orders');
  const warm = await placeOrders(catalog.url, 100);
  await waitForInvoices(invoicesDb, warm.ids.length);

  console.log(`live: ${ORDERS} orders at concurrency ${CONCURRENCY}`);
  const sampler = sampleWaits(pgServer.url);
  const liveBatchesBefore = await writeBatches(catalog.url);
  const { value: live, cpuMsPerOrder: liveCpu } = await cpuPerOrder(
    {
      catalog: pidOnPort(catalog.port),
      invoices: pidOnPort(invoices.port),
      postgres: pidOnPort(pgServer.port),
      'nats-server': pidOnPort(nats.port),
    },
    ORDERS,
    async () => {
      const placed = await placeOrders(catalog.url, ORDERS);
      await waitForInvoices(invoicesDb, warm.ids.length + ORDERS);
      return placed;
    },
  );
  const waits = await sampler.stop();
  const liveResult = {
    ...(await measure(catalogDb, invoicesDb, live.ids, live.seconds, true)),
    cpuMsPerOrder: liveCpu,
    // Group commit: the more orders wait behind a transaction, the less each one pays of its statements.
    ordersPerTransaction: ordersPerTransaction(liveBatchesBefore, await writeBatches(catalog.url)),
  };
  console.log(`  ${JSON.stringify(liveResult)}`);

  console.log(`paced: ${PACED_ORDERS} orders at ${PACED_RATE}/s`);
  const paced = await placeOrdersAtRate(catalog.url, PACED_ORDERS, PACED_RATE);
  await waitForInvoices(invoicesDb, warm.ids.length + ORDERS + PACED_ORDERS);
  const pacedResult = await measure(catalogDb, invoicesDb, paced.ids, paced.seconds, true, paced.dueAt);
  console.log(`  ${JSON.stringify(pacedResult)}`);

  const nearRate = Math.max(1, Math.round(NEAR_CAPACITY_SHARE * liveResult.eventsPerS));
  const nearOrders = Math.round(nearRate * NEAR_CAPACITY_SECONDS);
  console.log(
    `near capacity: ${nearOrders} orders at ${nearRate}/s (${NEAR_CAPACITY_SHARE * 100} % of the live rate)`,
  );
  const nearBatchesBefore = await writeBatches(catalog.url);
  const near = await placeOrdersAtRate(catalog.url, nearOrders, nearRate);
  const nearBatchesAfter = await writeBatches(catalog.url);
  await waitForInvoices(invoicesDb, warm.ids.length + ORDERS + PACED_ORDERS + nearOrders);
  const nearResult = {
    ...(await measure(catalogDb, invoicesDb, near.ids, near.seconds, true, near.dueAt)),
    rate: nearRate,
    share: NEAR_CAPACITY_SHARE,
    ordersPerTransaction: ordersPerTransaction(nearBatchesBefore, nearBatchesAfter),
  };
  console.log(`  ${JSON.stringify(nearResult)}`);

  let drainResult: (PhaseResult & { cpuMsPerOrder: Record<string, number> }) | undefined;
  if (PROFILE_DIR === undefined) {
    console.log(`drain: invoices stopped, ${ORDERS} orders queued, then invoices started`);
    await invoices.stop();
    const queued = await placeOrders(catalog.url, ORDERS);
    for (;;) {
      const [row] = await query<{ n: string }>(
        catalogDb,
        'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL',
      );
      if (Number(row?.n) === 0) break;
      await sleep(200);
    }
    await invoices.start();
    const { cpuMsPerOrder } = await cpuPerOrder(
      {
        invoices: pidOnPort(invoices.port),
        postgres: pidOnPort(pgServer.port),
        'nats-server': pidOnPort(nats.port),
      },
      ORDERS,
      () => waitForInvoices(invoicesDb, warm.ids.length + 2 * ORDERS + PACED_ORDERS + nearOrders),
    );
    drainResult = {
      ...(await measure(catalogDb, invoicesDb, queued.ids, queued.seconds, false)),
      cpuMsPerOrder,
    };
    console.log(`  ${JSON.stringify(drainResult)}`);
  }

  const result = {
    loadBefore: machine,
    settings: {
      orders: ORDERS,
      concurrency: CONCURRENCY,
      pacedRate: PACED_RATE,
      pacedOrders: PACED_ORDERS,
      nearCapacitySeconds: NEAR_CAPACITY_SECONDS,
      // The paced phases' latency counts from when each order was due to be sent (open loop).
      latencyFrom: 'due',
      profileDir: PROFILE_DIR ?? null,
    },
    live: liveResult,
    paced: pacedResult,
    nearCapacity: nearResult,
    postgresWaits: waits,
    drain: drainResult ?? null,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

try {
  await main();
} finally {
  await cleanup();
}
