// Property-based fuzzing of the running invoices process from its own /openapi.json (see
// packages/testenv/test/integration/security-fuzz.ts): no 5xx outside the document, every 4xx {error, message}.
// Its API takes no request bodies; bodies sent anyway must not matter. Reproduce with OBSDEMO_FUZZ_SEED=<seed>.
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
  type OpenApiDocument,
} from '../../../../packages/testenv/test/integration/security-fuzz.js';

const SEED = Number(process.env['OBSDEMO_FUZZ_SEED'] ?? 20261123);
const RUNS = 200;

let pg: PostgresServer;
let nats: NatsServer;
let invoices: ServiceProcess;
let document: OpenApiDocument;

beforeAll(async () => {
  pg = await startPostgres();
  nats = await startNats();
  await pg.createDatabase('invoices');
  invoices = await startServiceProcess({
    service: 'invoices',
    portEnv: 'INVOICES_PORT',
    nodeArgs: ['--import', '@obsdemo/telemetry/register'],
    env: {
      INVOICES_HOST: '127.0.0.1',
      DB_HOST: pg.host,
      DB_PORT: String(pg.port),
      DB_NAME: 'invoices',
      DB_USER: pg.user,
      DB_PASSWORD: pg.password,
      NATS_URL: nats.url,
      LOG_LEVEL: 'error',
    },
  });
  document = (await (await fetch(`${invoices.url}/openapi.json`)).json()) as OpenApiDocument;
  console.info(
    `invoices fuzz seed ${SEED} (set OBSDEMO_FUZZ_SEED to reproduce), ${RUNS} cases per operation`,
  );
}, 120_000);

afterAll(async () => {
  await invoices?.stop();
  await nats?.dispose();
  await pg?.stop();
});

describe('invoices under fuzzed requests', () => {
  it('answers every generated request as the document says: listed status and schema, 4xx {error, message}', async () => {
    const { covered, failures, statuses } = await fuzzOperations({
      baseUrl: invoices.url,
      document,
      seed: SEED,
      runsPerOperation: RUNS,
    });
    console.info(`invoices statuses per operation: ${JSON.stringify(statuses)}`);
    expect(failures).toEqual([]);
    expect(covered).toEqual(expect.arrayContaining(['GET /invoices', 'GET /invoices/{id}']));
  }, 600_000);

  it('answers an unknown route and a malformed body on a known route with 4xx JSON, not 5xx', async () => {
    for (const [method, path, body] of [
      ['GET', '/no-such-route', undefined],
      ['POST', '/invoices', '{"broken":'],
    ] as const) {
      const res = await fetch(`${invoices.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.json()).toEqual(
        expect.objectContaining({ error: expect.any(String), message: expect.any(String) }),
      );
    }
  });
});
