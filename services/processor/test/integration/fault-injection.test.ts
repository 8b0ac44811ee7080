import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { eventually, type ServiceProcess } from '@obsdemo/testenv';
import {
  buildServices,
  request,
  startDataplane,
  startProcessorProcess,
  type Dataplane,
} from '../../../invoices/test/integration/harness.js';

/** Nothing listens there: the routes under test never call catalog, and catalog is no readiness check. */
const NO_CATALOG = 'http://127.0.0.1:9';

let dp: Dataplane;
let faulty: ServiceProcess;
let healthy: ServiceProcess;

beforeAll(async () => {
  buildServices('processor');
  dp = await startDataplane();
  faulty = await startProcessorProcess(dp, 'faulty', NO_CATALOG, { FAULT_ERROR_PERCENT: '100' });
  healthy = await startProcessorProcess(dp, 'healthy', NO_CATALOG, { FAULT_ERROR_PERCENT: '0' });
});

afterAll(async () => {
  await faulty?.stop();
  await healthy?.stop();
  await dp?.stop();
});

describe('fault injection (FAULT_*)', () => {
  it('at FAULT_ERROR_PERCENT=100 fails the API with 503 injected_fault while /health and /ready stay 200', async () => {
    expect(await request(faulty.url, 'GET', '/api/v1/processor/jobs')).toEqual({
      status: 503,
      body: { error: 'injected_fault', message: 'injected failure (FAULT_ERROR_PERCENT)' },
    });
    expect((await request(faulty.url, 'GET', '/health')).status).toBe(200);
    expect((await request(faulty.url, 'GET', '/ready')).status).toBe(200);
    const info = await request(faulty.url, 'GET', '/info');
    expect(info.body['config']).toMatchObject({ FAULT_ERROR_PERCENT: 100 });
  });

  it('logs an injected fault as one line without a stack: message, path, fault kind and trace id', async () => {
    expect((await request(faulty.url, 'GET', '/api/v1/processor/jobs')).status).toBe(503);
    const line = await eventually('the injected fault in the processor’s log', async () => {
      const logged = faulty.logs().split('\n');
      const found = logged.find((l) => l.includes('"message":"request failed: injected fault"'));
      return found === undefined ? undefined : (JSON.parse(found) as Record<string, unknown>);
    });
    expect(line).toMatchObject({
      level: 'error',
      service: 'processor',
      method: 'GET',
      path: '/api/v1/processor/jobs',
      fault: 'error',
      error: 'injected failure (FAULT_ERROR_PERCENT)',
    });
    expect(line['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(line).not.toHaveProperty('err');
    expect(faulty.logs()).not.toContain('injected failure (FAULT_ERROR_PERCENT)\\n    at ');
  });

  it('at 0 percent answers the API as usual', async () => {
    const res = await request(healthy.url, 'GET', '/api/v1/processor/jobs');
    expect(res.status).toBe(200);
    expect((await request(healthy.url, 'GET', '/ready')).status).toBe(200);
  });
});
