import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { buildServices, type ServiceProcess } from '@obsdemo/testenv';
import {
  call,
  counter,
  eventually,
  startBackend,
  startGateway,
  startLoadgen,
  startProcessor,
  type Backend,
} from '../../../gateway/test/integration/harness.js';

let backend: Backend;
let gateway: ServiceProcess;
let processor: ServiceProcess;

beforeAll(async () => {
  buildServices('catalog', 'processor', 'gateway', 'loadgen');
  backend = await startBackend('loadgen_it');
  processor = await startProcessor(backend, 'loadgen_processor');
  gateway = await startGateway({
    CATALOG_URL: backend.catalog.url,
    PROCESSOR_URL: processor.url,
    RATE_LIMIT_RPS: '10000',
  });
});

afterAll(async () => {
  await gateway?.stop();
  await processor?.stop();
  await backend?.stop();
});

const ROUTE = '/api/v1/catalog{/*path}';
const atGateway = () => counter(gateway.url, 'http_requests_total', { route: ROUTE });

describe('loadgen against the real gateway and catalog', () => {
  it('sends about N×t requests at N rps for t seconds, as counted by the gateway', async () => {
    const rps = 20;
    const seconds = 5;
    const expected = rps * seconds;
    const before = await atGateway();
    const loadgen = await startLoadgen({
      LOADGEN_TARGET_URL: gateway.url,
      LOADGEN_RPS: String(rps),
      LOADGEN_DURATION_SECONDS: String(seconds),
      LOADGEN_MIX: 'browse=100',
    });
    try {
      const info = await eventually(
        'loadgen finished its schedule and every request was answered',
        async () => (await call(`${loadgen.url}/info`)).body,
        (body) => body['running'] === false && body['inFlight'] === 0 && body['scheduled'] === expected,
        (seconds + 30) * 1000,
      );
      // The schedule itself is exact by construction: send k is due at k/N s and late ticks catch up.
      expect(info['scheduled']).toBe(expected);
      const sent = await counter(loadgen.url, 'loadgen_requests_total', { scenario: 'browse' });
      const dropped = await counter(loadgen.url, 'loadgen_requests_dropped_total', {});
      expect(sent + dropped).toBe(expected);
      expect(await counter(loadgen.url, 'loadgen_requests_total', { outcome: 'success' })).toBe(sent);

      // What reaches the gateway can only be fewer than scheduled: a send is dropped when 50 requests are
      // already in flight, which on 2 shared cores (Postgres, NATS, catalog, gateway, jest) takes a stall of
      // 2.5 s. The band allows 5 % of such losses; never more than N×t, because nothing else calls this route.
      const counted = (await atGateway()) - before;
      expect(counted).toBeLessThanOrEqual(expected);
      expect(counted).toBeGreaterThanOrEqual(Math.floor(expected * 0.95));
      expect(counted).toBe(sent);
    } finally {
      await loadgen.stop();
    }
    expect(loadgen.logs()).toMatch(/"exitCode":0,"level":"info","message":"shutdown complete"/);
  });

  it('stops scheduling on SIGTERM and exits cleanly', async () => {
    const loadgen = await startLoadgen({
      LOADGEN_TARGET_URL: gateway.url,
      LOADGEN_RPS: '10',
      LOADGEN_MIX: 'browse=100',
    });
    await eventually(
      'some traffic flows',
      async () => counter(loadgen.url, 'loadgen_requests_total', {}),
      (n) => n >= 5,
    );
    await loadgen.stop();
    const afterStop = await atGateway();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await atGateway()).toBe(afterStop);
    const logs = loadgen.logs();
    expect(logs).toMatch(/"message":"shutdown started","reason":"SIGTERM"/);
    expect(logs).toMatch(/"component":"scheduler","level":"info","message":"closed"/);
    expect(logs).toMatch(/"exitCode":0,"level":"info","message":"shutdown complete"/);
  });
});

describe('scenario data against the real services', () => {
  it('sends requests the real catalog and processor accept, for every scenario in the mix', async () => {
    const loadgen = await startLoadgen({
      LOADGEN_TARGET_URL: gateway.url,
      LOADGEN_RPS: '20',
      LOADGEN_MIX: 'browse=20,order=20,analytics=20,enrich=20,batch=20',
    });
    try {
      const successes = (scenario: string) =>
        counter(loadgen.url, 'loadgen_requests_total', { scenario, outcome: 'success' });
      for (const scenario of ['browse', 'order', 'analytics', 'enrich', 'batch']) {
        await eventually(
          `a successful ${scenario} request`,
          () => successes(scenario),
          (n) => n >= 2,
          60_000,
        );
      }
      // Realistic data means valid data: nothing the load generator sends may be rejected or break a service.
      expect(await counter(loadgen.url, 'loadgen_requests_total', { outcome: 'client_error' })).toBe(0);
      expect(await counter(loadgen.url, 'loadgen_requests_total', { outcome: 'server_error' })).toBe(0);
    } finally {
      await loadgen.stop();
    }
  });
});
