// Property-based fuzzing of the running catalog process from its own /openapi.json (see
// packages/testenv/test/integration/security-fuzz.ts): no 5xx outside the document, every 4xx {error, message},
// 413 for oversized and 400 for malformed bodies. Reproduce a failure with OBSDEMO_FUZZ_SEED=<printed seed>.
// Like every process test it runs dist/ (`npm run build`, which `make test-integration` does first).
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
  checkBodyLimits,
  fuzzOperations,
  judge,
  responseValidator,
  type OpenApiDocument,
} from '../../../../packages/testenv/test/integration/security-fuzz.js';

const SEED = Number(process.env['OBSDEMO_FUZZ_SEED'] ?? 20261123);
const RUNS = 200;
const BODY_LIMIT = 4096;

let pg: PostgresServer;
let nats: NatsServer;
let catalog: ServiceProcess;
let document: OpenApiDocument;

beforeAll(async () => {
  pg = await startPostgres();
  nats = await startNats();
  await pg.createDatabase('catalog');
  catalog = await startServiceProcess({
    service: 'catalog',
    portEnv: 'CATALOG_PORT',
    nodeArgs: ['--import', '@obsdemo/telemetry/register'],
    env: {
      CATALOG_HOST: '127.0.0.1',
      DB_HOST: pg.host,
      DB_PORT: String(pg.port),
      DB_NAME: 'catalog',
      DB_USER: pg.user,
      DB_PASSWORD: pg.password,
      NATS_URL: nats.url,
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      // The /error fault endpoint answers its documented 500 at this rate.
      ERROR_RATE: '0.5',
      LOG_LEVEL: 'error',
    },
  });
  document = (await (await fetch(`${catalog.url}/openapi.json`)).json()) as OpenApiDocument;
  console.info(`catalog fuzz seed ${SEED} (set OBSDEMO_FUZZ_SEED to reproduce), ${RUNS} cases per operation`);
}, 120_000);

afterAll(async () => {
  await catalog?.stop();
  await nats?.dispose();
  await pg?.stop();
});

describe('catalog under fuzzed requests', () => {
  it('answers every generated request as the document says: listed status and schema, 4xx {error, message}', async () => {
    const { covered, failures, statuses } = await fuzzOperations({
      baseUrl: catalog.url,
      document,
      seed: SEED,
      runsPerOperation: RUNS,
      exclude: { 'GET /slow': 'sleeps for the requested delay by design (up to 99 999 ms)' },
    });
    console.info(`catalog statuses per operation: ${JSON.stringify(statuses)}`);
    expect(failures).toEqual([]);
    expect(covered).toEqual(
      expect.arrayContaining(['POST /products', 'PATCH /products/{id}', 'POST /orders']),
    );
  }, 600_000);

  it('rejects oversized bodies with 413 and malformed JSON with 400', async () => {
    expect(await checkBodyLimits(catalog.url, document, BODY_LIMIT)).toEqual([]);
  });

  // Found by this fuzz (seed 20261123, first run): a positive price below half a cent passed validation, was
  // rounded to 0 cents and broke the table's CHECK (price_cents > 0), answering 500.
  it.each([1e-9, 8.760121601548491e-142])(
    'answers 400 for a positive price that rounds to 0 cents (%p)',
    async (price) => {
      for (const [method, path] of [
        ['POST', '/products'],
        ['PATCH', '/products/1'],
      ] as const) {
        const body = { sku: `TINY-${String(price).length}${method}`, name: 'tiny', category: 'fuzz', price };
        const res = await fetch(`${catalog.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(method === 'PATCH' ? { price } : body),
        });
        expect({ method, status: res.status }).toEqual({ method, status: 400 });
      }
    },
  );

  it('the judge can fail: undocumented 5xx, a 4xx without message, a 200 off the document are all caught', () => {
    const validate = responseValidator();
    const getProduct = document.paths['/products/{id}']?.['get'];
    if (getProduct === undefined) throw new Error('GET /products/{id} is not in the document');
    expect(judge(getProduct, 500, '{"error":"x","message":"y"}', validate)).toMatch(/not in the document/);
    expect(judge(getProduct, 404, '{"error":"not_found"}', validate)).toMatch(
      /without string error and message/,
    );
    expect(judge(getProduct, 200, '{"id":"one"}', validate)).toMatch(/does not match the document/);
    expect(
      judge(getProduct, 404, '{"error":"not_found","message":"no product 7"}', validate),
    ).toBeUndefined();
  });
});
