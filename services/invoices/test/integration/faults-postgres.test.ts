// Postgres restarted under catalog, processor and invoices, all real processes sharing it: while it is down each
// reports not-ready but stays live, and answers its database-backed API with a bounded 503 JSON and Retry-After;
// once it is back each recovers in the same process. Events that arrive while it is down are neither lost nor
// parked: each gives exactly one invoice after the recovery.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ORDER_CREATED_SUBJECT, encodeOrderCreated } from '@obsdemo/contracts';
import type { ServiceProcess } from '@obsdemo/testenv';
import { connect } from 'nats';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  buildServices,
  eventually,
  sql,
  startCatalogProcess,
  startDataplane,
  startInvoicesProcess,
  startProcessorProcess,
  type Dataplane,
} from './harness.js';

/** Far above any healthy answer: an answer that takes this long counts as a hang. */
const ANSWER_TIMEOUT_MS = 20_000;
/** Keeps a request queued for a dead pool well below ANSWER_TIMEOUT_MS. */
const POOL = { DB_POOL_ACQUIRE_MS: '3000' };

type Name = 'catalog' | 'processor' | 'invoices';

let dp: Dataplane;
const services = new Map<Name, ServiceProcess>();

interface Answer {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  const text = await res.text();
  try {
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: JSON.parse(text) as Record<string, unknown>,
    };
  } catch {
    throw new Error(`${method} ${path}: status ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
}

/** The pid listening on the service's port (iproute2's `ss`): unchanged means the same process served throughout. */
function listenerPid(svc: ServiceProcess): number {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${svc.port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  if (pid === undefined) throw new Error(`nothing listens on port ${svc.port}: ${out}`);
  return Number(pid);
}

/** Requests that need each service's own database, as a client sends them, and their answer once it is back. */
const DB_BACKED: Record<Name, { method: string; path: string; body?: unknown; recovered?: number }[]> = {
  catalog: [
    { method: 'GET', path: '/orders?pageSize=1', recovered: 200 },
    // Its recovery is the orders placed after the outage below.
    { method: 'POST', path: '/orders', body: { customer: 'outage', items: [{ productId: 1, quantity: 1 }] } },
  ],
  processor: [
    { method: 'GET', path: '/api/v1/processor/jobs', recovered: 200 },
    { method: 'GET', path: `/api/v1/processor/jobs/${randomUUID()}`, recovered: 404 },
    {
      method: 'POST',
      path: '/api/v1/analytics/process-batch',
      body: { productIds: [1] },
      recovered: 202,
    },
  ],
  invoices: [
    { method: 'GET', path: '/invoices?pageSize=1', recovered: 200 },
    { method: 'GET', path: '/invoices/parked', recovered: 200 },
  ],
};

function service(name: Name): ServiceProcess {
  const svc = services.get(name);
  if (!svc) throw new Error(`${name} not started`);
  return svc;
}

beforeAll(async () => {
  buildServices('catalog', 'processor', 'invoices');
  dp = await startDataplane();
  services.set('catalog', await startCatalogProcess(dp, 'catalog', POOL));
  services.set('processor', await startProcessorProcess(dp, 'processor', service('catalog').url, POOL));
  services.set(
    'invoices',
    await startInvoicesProcess(dp, 'invoices', {
      ...POOL,
      // Small on purpose: if the outage counted against each message's budget, they would end up parked.
      CONSUMER_MAX_ATTEMPTS: '3',
    }),
  );
}, 180_000);

afterAll(async () => {
  for (const svc of services.values()) await svc.stop();
  await dp?.stop();
});

describe('Postgres restarted under catalog, processor and invoices', () => {
  it('answers 503 JSON while it is down, stays live, and recovers in the same process', async () => {
    const catalog = service('catalog');
    const order = (customer: string) =>
      call(catalog.url, 'POST', '/orders', { customer, items: [{ productId: 2, quantity: 1 }] });
    const orderIds: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await order(`before-${i}`);
      expect(res.status).toBe(201);
      orderIds.push(res.body['id'] as number);
    }
    const pids = new Map<Name, number>();
    for (const [name, svc] of services) pids.set(name, listenerPid(svc));

    await dp.pg.halt();
    // Published straight to the stream while invoices' database is down: the consumer must hold them, not park them.
    const nc = await connect({ servers: dp.nats.url });
    try {
      const js = nc.jetstream();
      for (let i = 0; i < 30; i++) {
        const orderId = 800_000 + i;
        orderIds.push(orderId);
        const event = {
          schemaVersion: 1 as const,
          eventId: randomUUID(),
          orderId,
          occurredAt: new Date().toISOString(),
          customer: `during-${i}`,
          items: [{ productId: 1, quantity: 2, unitPrice: 10.5 }],
          total: 21,
          currency: 'EUR',
        };
        await js.publish(ORDER_CREATED_SUBJECT, encodeOrderCreated(event), { msgID: String(orderId) });
      }
    } finally {
      await nc.close();
    }

    for (const [name, svc] of services) {
      const ready = await eventually(
        `${name} /ready fails`,
        () => call(svc.url, 'GET', '/ready'),
        (r) => r.status === 503,
        60_000,
      );
      expect(ready.body).toMatchObject({
        error: 'not_ready',
        details: { checks: { postgres: { status: 'failed' } } },
      });
      // Liveness: a database outage must not get the pod restarted.
      expect(await call(svc.url, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
      for (const req of DB_BACKED[name]) {
        const res = await call(svc.url, req.method, req.path, req.body);
        expect({ name, path: req.path, status: res.status, retryAfter: res.retryAfter }).toEqual({
          name,
          path: req.path,
          status: 503,
          retryAfter: expect.stringMatching(/^[1-9]\d*$/),
        });
        expect(res.body).toEqual({
          error: 'service_unavailable',
          message: 'postgres is unavailable; retry later',
          details: { dependency: 'postgres' },
        });
      }
    }
    // The consumer has had time to fail and redeliver several times over by now, had it not paused.
    await eventually(
      'invoices consumer pauses on the outage',
      async () => service('invoices').logs(),
      (log) => log.includes('store unavailable, consumption paused'),
      60_000,
    );

    await dp.pg.start();
    for (const [name, svc] of services) {
      await eventually(
        `${name} /ready again`,
        () => call(svc.url, 'GET', '/ready'),
        (r) => r.status === 200,
        60_000,
      );
      expect(svc.running).toBe(true);
      expect(listenerPid(svc)).toBe(pids.get(name));
      for (const req of DB_BACKED[name].filter((r) => r.recovered !== undefined)) {
        const res = await call(svc.url, req.method, req.path, req.body);
        expect({ path: req.path, status: res.status }).toEqual({ path: req.path, status: req.recovered });
      }
    }
    for (let i = 0; i < 20; i++) {
      const res = await order(`after-${i}`);
      expect(res.status).toBe(201);
      orderIds.push(res.body['id'] as number);
    }

    // Orders from before and after the outage and events from during it: one invoice each, none parked.
    await eventually(
      'every event invoiced or parked',
      async () =>
        (
          await sql<{ n: string }>(
            dp,
            'invoices',
            'SELECT (SELECT count(*) FROM invoices) + (SELECT count(*) FROM parked_messages) AS n',
          )
        )[0]?.n,
      (n) => Number(n) >= orderIds.length,
      120_000,
    );
    expect(await sql(dp, 'invoices', 'SELECT stream_seq, reason, error FROM parked_messages')).toEqual([]);
    const invoiced = await sql<{ order_id: number }>(
      dp,
      'invoices',
      'SELECT order_id FROM invoices ORDER BY order_id',
    );
    expect(invoiced.map((r) => r.order_id)).toEqual([...orderIds].sort((a, b) => a - b));
  }, 300_000);
});
