// Property-based fuzzing of the running gateway in front of real catalog, processor and invoices processes, from
// the gateway's own /openapi.json (see packages/testenv/test/integration/security-fuzz.ts): every answer is a
// status the document lists, 4xx bodies are {error, message}. Reproduce with OBSDEMO_FUZZ_SEED=<printed seed>.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  startNats,
  startPostgres,
  startServiceProcess,
  type NatsServer,
  type PostgresServer,
  type ServiceProcess,
} from '@obsdemo/testenv';
import {
  fuzzOperations,
  judge,
  responseValidator,
  type OpenApiDocument,
} from '../../../../packages/testenv/test/integration/security-fuzz.js';

const SEED = Number(process.env['OBSDEMO_FUZZ_SEED'] ?? 20261123);
const RUNS = 100;
const BODY_LIMIT = 4096;
const PRELOAD = ['--import', '@obsdemo/telemetry/register'];

let pg: PostgresServer;
let nats: NatsServer;
const upstreams: ServiceProcess[] = [];
let gateway: ServiceProcess;
let document: OpenApiDocument;

beforeAll(async () => {
  pg = await startPostgres();
  nats = await startNats();
  const db = (name: string) => ({
    DB_HOST: pg.host,
    DB_PORT: String(pg.port),
    DB_NAME: name,
    DB_USER: pg.user,
    DB_PASSWORD: pg.password,
    LOG_LEVEL: 'error',
  });
  for (const name of ['catalog', 'processor', 'invoices']) await pg.createDatabase(name);
  const catalog = await startServiceProcess({
    service: 'catalog',
    portEnv: 'CATALOG_PORT',
    nodeArgs: PRELOAD,
    // Catalog's /error fault endpoint always answers its documented 500.
    env: { CATALOG_HOST: '127.0.0.1', ...db('catalog'), NATS_URL: nats.url, ERROR_RATE: '1' },
  });
  upstreams.push(catalog);
  const processor = await startServiceProcess({
    service: 'processor',
    portEnv: 'PROCESSOR_PORT',
    nodeArgs: PRELOAD,
    env: { PROCESSOR_HOST: '127.0.0.1', ...db('processor'), CATALOG_URL: catalog.url },
  });
  upstreams.push(processor);
  const invoices = await startServiceProcess({
    service: 'invoices',
    portEnv: 'INVOICES_PORT',
    nodeArgs: PRELOAD,
    env: { INVOICES_HOST: '127.0.0.1', ...db('invoices'), NATS_URL: nats.url },
  });
  upstreams.push(invoices);
  gateway = await startServiceProcess({
    service: 'gateway',
    portEnv: 'GATEWAY_PORT',
    nodeArgs: PRELOAD,
    env: {
      GATEWAY_HOST: '127.0.0.1',
      CATALOG_URL: catalog.url,
      PROCESSOR_URL: processor.url,
      INVOICES_URL: invoices.url,
      // Far above the fuzz's pace, so the cases reach the upstreams instead of the limiter.
      RATE_LIMIT_RPS: '100000',
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      LOG_LEVEL: 'error',
    },
  });
  document = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as OpenApiDocument;
  console.info(`gateway fuzz seed ${SEED} (set OBSDEMO_FUZZ_SEED to reproduce), ${RUNS} cases per operation`);
}, 180_000);

afterAll(async () => {
  await gateway?.stop();
  for (const u of upstreams) await u.stop();
  await nats?.dispose();
  await pg?.stop();
});

describe('gateway under fuzzed requests', () => {
  it('answers every generated request as the document says: listed status and schema, 4xx {error, message}', async () => {
    const { covered, failures, statuses } = await fuzzOperations({
      baseUrl: gateway.url,
      document,
      seed: SEED,
      runsPerOperation: RUNS,
      // The upstreams' own routes, so cases pass the gateway and reach (and come back from) a service.
      pathValues: {
        path: [
          'products',
          'products/1',
          'orders',
          'orders/1',
          'jobs',
          'jobs/1',
          'products/enrich',
          'orders/process',
          'report',
          'orders?limit=5',
          'parked',
          'by-order/1',
          '1',
          '',
        ],
      },
    });
    console.info(`gateway statuses per operation: ${JSON.stringify(statuses)}`);
    expect(failures).toEqual([]);
    expect(covered.length).toBeGreaterThanOrEqual(20);
  }, 600_000);

  // The document declares no request bodies (the gateway proxies them), so these are sent by hand.
  it.each([
    ['an oversized', 413, JSON.stringify({ padding: 'x'.repeat(BODY_LIMIT + 1) })],
    ['a malformed', 400, '{"name": "half'],
  ])('answers %s body on a proxied POST with %p and {error, message}', async (_what, status, body) => {
    const res = await fetch(`${gateway.url}/api/v1/catalog/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(
      expect.objectContaining({ error: expect.any(String), message: expect.any(String) }),
    );
  });

  // The gateway passes the upstream's status through, so its document must allow every status the upstreams
  // document: a 201 from creating a product, the 500 of catalog's /error fault endpoint.
  it('documents the upstream statuses it passes through (201 Created, documented upstream 5xx)', async () => {
    const validate = responseValidator();
    const problems: string[] = [];
    const cases = [
      ['post', 'products', { sku: 'GW-FUZZ-1', name: 'n', category: 'c', price: 2.5 }],
      ['get', 'error', undefined],
    ] as const;
    for (const [method, sub, body] of cases) {
      const res = await fetch(`${gateway.url}/api/v1/catalog/${sub}`, {
        method: method.toUpperCase(),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const op = document.paths['/api/v1/catalog/{path}']?.[method];
      if (op === undefined) throw new Error(`${method} /api/v1/catalog/{path} is not in the document`);
      const problem = judge(op, res.status, await res.text(), validate);
      if (problem !== undefined) problems.push(`${method.toUpperCase()} /api/v1/catalog/${sub}: ${problem}`);
    }
    expect(problems).toEqual([]);
  });
});
