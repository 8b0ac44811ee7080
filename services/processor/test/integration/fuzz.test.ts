// Property-based fuzzing of the running processor process (with a real catalog upstream) from its own
// /openapi.json (see packages/testenv/test/integration/security-fuzz.ts): no 5xx outside the document, every 4xx
// {error, message}, 413 for oversized and 400 for malformed bodies. Reproduce with OBSDEMO_FUZZ_SEED=<seed>.
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
  type OpenApiDocument,
} from '../../../../packages/testenv/test/integration/security-fuzz.js';

const SEED = Number(process.env['OBSDEMO_FUZZ_SEED'] ?? 20261123);
const RUNS = 200;
const BODY_LIMIT = 4096;
const PRELOAD = ['--import', '@obsdemo/telemetry/register'];

let pg: PostgresServer;
let nats: NatsServer;
let catalog: ServiceProcess;
let processor: ServiceProcess;
let document: OpenApiDocument;

const db = (name: string) => ({
  DB_HOST: pg.host,
  DB_PORT: String(pg.port),
  DB_NAME: name,
  DB_USER: pg.user,
  DB_PASSWORD: pg.password,
});

beforeAll(async () => {
  pg = await startPostgres();
  nats = await startNats();
  await pg.createDatabase('catalog');
  await pg.createDatabase('processor');
  catalog = await startServiceProcess({
    service: 'catalog',
    portEnv: 'CATALOG_PORT',
    nodeArgs: PRELOAD,
    env: { CATALOG_HOST: '127.0.0.1', ...db('catalog'), NATS_URL: nats.url, LOG_LEVEL: 'error' },
  });
  processor = await startServiceProcess({
    service: 'processor',
    portEnv: 'PROCESSOR_PORT',
    nodeArgs: PRELOAD,
    env: {
      PROCESSOR_HOST: '127.0.0.1',
      ...db('processor'),
      CATALOG_URL: catalog.url,
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      LOG_LEVEL: 'error',
    },
  });
  document = (await (await fetch(`${processor.url}/openapi.json`)).json()) as OpenApiDocument;
  console.info(
    `processor fuzz seed ${SEED} (set OBSDEMO_FUZZ_SEED to reproduce), ${RUNS} cases per operation`,
  );
}, 120_000);

afterAll(async () => {
  await processor?.stop();
  await catalog?.stop();
  await nats?.dispose();
  await pg?.stop();
});

describe('processor under fuzzed requests', () => {
  it('answers every generated request as the document says: listed status and schema, 4xx {error, message}', async () => {
    const { covered, failures, statuses } = await fuzzOperations({
      baseUrl: processor.url,
      document,
      seed: SEED,
      runsPerOperation: RUNS,
    });
    console.info(`processor statuses per operation: ${JSON.stringify(statuses)}`);
    expect(failures).toEqual([]);
    expect(covered).toEqual(
      expect.arrayContaining(['POST /api/v1/processor/orders/process', 'GET /api/v1/processor/jobs/{id}']),
    );
  }, 600_000);

  it('rejects oversized bodies with 413 and malformed JSON with 400', async () => {
    expect(await checkBodyLimits(processor.url, document, BODY_LIMIT)).toEqual([]);
  });
});
